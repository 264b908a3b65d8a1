namespace Chat.Orleans.Gateway.Rooms;

/// <summary>
/// One gateway's members in one room, and a version that grows with every change. Every call to the
/// room carries the version, so the room can tell a renewal that a newer join or leave overtook (and
/// must not undo) from a current one. Thread-safe.
/// </summary>
public sealed class MemberList
{
    private readonly Lock _lock = new();
    private readonly Dictionary<long, RoomMember> _members = [];
    private long _version;

    /// <summary>Adds (or replaces) a member; returns the new version.</summary>
    public long Add(RoomMember member)
    {
        lock (_lock)
        {
            _members[member.SessionId] = member;
            return ++_version;
        }
    }

    /// <summary>Removes a member if present; returns the new version.</summary>
    public long Remove(long sessionId)
    {
        lock (_lock)
        {
            _members.Remove(sessionId);
            return ++_version;
        }
    }

    /// <summary>The members and the version they stand at, read together.</summary>
    public (RoomMember[] Members, long Version) Read()
    {
        lock (_lock)
        {
            return ([.. _members.Values], _version);
        }
    }
}
