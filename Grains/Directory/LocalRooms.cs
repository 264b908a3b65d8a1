using System.Collections.Concurrent;

namespace Chat.Orleans.Grains.Directory;

/// <summary>
/// This silo's active public rooms and their member counts, kept by the rooms themselves on every join and
/// leave (not per message), read by <see cref="RoomCountReporter"/> for the rooms directory.
/// </summary>
public sealed class LocalRooms
{
    private readonly ConcurrentDictionary<string, int> _members = new(StringComparer.Ordinal);

    /// <summary>The room has <paramref name="members"/> sessions now (0: none, or it is deactivating).</summary>
    public void Set(string room, int members)
    {
        if (RoomKeys.IsPrivate(room))
        {
            // Private rooms are never listed.
            return;
        }

        if (members > 0)
        {
            _members[room] = members;
        }
        else
        {
            _members.TryRemove(room, out _);
        }
    }

    /// <summary>Every room with members, in no order.</summary>
    public RoomCount[] Snapshot()
    {
        var rooms = new List<RoomCount>(_members.Count);
        foreach (var (room, members) in _members)
        {
            rooms.Add(new RoomCount(room, members));
        }

        return [.. rooms];
    }
}
