namespace Chat.Orleans.Gateway.Rooms;

/// <summary>
/// One gateway's members in one room, and a version that grows with every change. Every call to the
/// room carries the version, so the room can tell a renewal that a newer join or leave overtook (and
/// must not undo) from a current one. Thread-safe.
/// </summary>
/// <remarks>
/// A member whose join is still on its way is left out of renewals and catch-ups until the room has
/// answered it: listed silently, it would reach other gateways' rosters through a catch-up and then be
/// announced a second time by its own join. Meanwhile the list reads at the version from before that
/// join, so the room only adds what it lists and never takes the joining member out again.
/// </remarks>
public sealed class MemberList
{
    private readonly Lock _lock = new();
    private readonly Dictionary<long, RoomMember> _members = [];

    // Members whose join the room has not answered yet, with the version their addition made.
    private readonly Dictionary<long, long> _joining = [];
    private long _version;

    /// <summary>Adds (or replaces) a member whose join is on its way; returns the new version.</summary>
    public long Add(RoomMember member)
    {
        lock (_lock)
        {
            _members[member.SessionId] = member;
            _version++;
            _joining.TryAdd(member.SessionId, _version);
            return _version;
        }
    }

    /// <summary>The room answered the member's join: from now on it is listed.</summary>
    public void Joined(long sessionId)
    {
        lock (_lock)
        {
            _joining.Remove(sessionId);
        }
    }

    /// <summary>Removes a member if present; returns the new version.</summary>
    public long Remove(long sessionId)
    {
        lock (_lock)
        {
            _members.Remove(sessionId);
            _joining.Remove(sessionId);
            return ++_version;
        }
    }

    /// <summary>The joined members and the version they stand at, read together.</summary>
    public (RoomMember[] Members, long Version) Read()
    {
        lock (_lock)
        {
            if (_joining.Count == 0)
            {
                return ([.. _members.Values], _version);
            }

            return ([.. _members.Values.Where(member => !_joining.ContainsKey(member.SessionId))], _joining.Values.Min() - 1);
        }
    }
}
