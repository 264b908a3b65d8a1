namespace Chat.Orleans.Gateway.Rooms;

/// <summary>
/// A room's members as this gateway's sessions know them: a count per name and verified user (names need
/// not be unique, and a verified "ann" is not an anonymous one), kept from the <c>joined</c> and <c>quit</c>
/// events they were sent. After a room moved, it is compared
/// with the roster the room reports, and the difference goes to the sessions as ordinary <c>joined</c>
/// and <c>quit</c> frames. Not thread-safe: the subscription calls it under its delivery lock.
/// </summary>
public sealed class RoomRoster
{
    private readonly Dictionary<(string Name, string? User), int> _counts = [];

    /// <summary>How many members the sessions know, all names together.</summary>
    public int Total { get; private set; }

    /// <summary>
    /// Notes a roster event on its way to the sessions; any other frame is ignored. Returns false for a
    /// <c>quit</c> of a name the sessions do not have: they were told already (a catch-up quit a member
    /// the room had not heard leave yet), so it must not reach them a second time.
    /// </summary>
    public bool Apply(byte[] frame)
    {
        if (!ChatFrames.TryReadRosterChange(frame, out var name, out var user, out var joined))
        {
            return true;
        }

        if (!joined && Count(name, user) == 0)
        {
            return false;
        }

        Add((name, user), joined ? 1 : -1);
        return true;
    }

    /// <summary>Notes the roster events among frames sent to a session.</summary>
    public void ApplyAll(byte[][] frames)
    {
        foreach (var frame in frames)
        {
            Apply(frame);
        }
    }

    /// <summary>
    /// Makes this roster the room's <paramref name="roster"/> (its <c>joined</c> frames) and returns the
    /// frames that tell the sessions so: <c>joined</c> for the members they lack, and, when
    /// <paramref name="removals"/>, <c>quit</c> for those they have and the room does not. Without
    /// removals, members the room does not list stay: a room that has just moved knows only the gateways
    /// that have subscribed again so far.
    /// </summary>
    public List<byte[]> Reconcile(byte[][] roster, bool removals)
    {
        var target = new Dictionary<(string Name, string? User), (int Count, byte[] Joined)>();
        foreach (var frame in roster)
        {
            if (ChatFrames.TryReadRosterChange(frame, out var name, out var user, out _))
            {
                target[(name, user)] = target.TryGetValue((name, user), out var entry) ? (entry.Count + 1, frame) : (1, frame);
            }
        }

        var changes = new List<byte[]>();
        foreach (var (member, (count, joined)) in target)
        {
            for (var known = Count(member.Name, member.User); known < count; known++)
            {
                changes.Add(joined);
                Add(member, 1);
            }
        }

        if (removals)
        {
            foreach (var (member, known) in _counts.ToArray())
            {
                var listed = target.TryGetValue(member, out var entry) ? entry.Count : 0;
                if (known > listed)
                {
                    var quit = ChatFrames.Quit(member.Name, member.User);
                    for (var i = listed; i < known; i++)
                    {
                        changes.Add(quit);
                    }

                    Add(member, listed - known);
                }
            }
        }

        return changes;
    }

    /// <summary>Starts over from a join's snapshot roster.</summary>
    public void Reset(byte[][] roster)
    {
        _counts.Clear();
        Total = 0;
        ApplyAll(roster);
    }

    /// <summary>How many members of that name (and verified user: null for anonymous ones) the sessions know.</summary>
    public int Count(string name, string? user = null) => _counts.TryGetValue((name, user), out var count) ? count : 0;

    private void Add((string Name, string? User) member, int delta)
    {
        // Never below zero: a quit for a name the sessions never had on their roster changes nothing.
        var known = Count(member.Name, member.User);
        var count = Math.Max(0, known + delta);
        Total += count - known;
        if (count == 0)
        {
            _counts.Remove(member);
        }
        else
        {
            _counts[member] = count;
        }
    }
}
