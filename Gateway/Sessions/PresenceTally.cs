namespace Chat.Orleans.Gateway.Sessions;

/// <summary>
/// A session's presence list (PROTOCOL.md, "Presence"): one entry per person with a socket count, kept
/// from the very <c>joined</c> and <c>quit</c> frames the session is sent, so that it always agrees with
/// the roster the session shows, also after a room moved and its roster was repaired. Used under the
/// feed's order (one thing at a time).
/// </summary>
public sealed class PresenceTally
{
    private readonly Dictionary<string, (string Name, string? User, int Sockets)> _people = [];

    /// <summary>Starts over from a join's roster; returns the whole list as a <c>presence</c> frame.</summary>
    public byte[] Reset(byte[][] roster)
    {
        _people.Clear();
        foreach (var frame in roster)
        {
            Apply(frame);
        }

        return ChatFrames.Presence(_people.Values);
    }

    /// <summary>
    /// Notes a roster frame on its way to the session; returns the changed entry as a <c>presence</c> frame,
    /// or null when the frame is no roster change or changes nobody (a quit of someone not present).
    /// </summary>
    public byte[]? Apply(byte[] frame)
    {
        if (!ChatFrames.TryReadRosterChange(frame, out var name, out var user, out var joined))
        {
            return null;
        }

        var key = People.Key(name, user);
        _people.TryGetValue(key, out var entry);
        if (joined)
        {
            // A verified person shows under the name they joined with last.
            entry = (name, user, entry.Sockets + 1);
            _people[key] = entry;
        }
        else if (entry.Sockets > 1)
        {
            entry = entry with { Sockets = entry.Sockets - 1 };
            _people[key] = entry;
        }
        else if (entry.Sockets == 1)
        {
            _people.Remove(key);
            entry = entry with { Sockets = 0 };
        }
        else
        {
            return null;
        }

        return ChatFrames.PresenceChange(entry.Name, entry.User, entry.Sockets);
    }
}
