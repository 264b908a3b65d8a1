using Chat.Orleans.Grains.Storage;

namespace Chat.Orleans.Grains.Rooms;

/// <summary>
/// The room's last relayed messages in memory, oldest first, each with its frame built once: what a join
/// gets, and the newest part of what a resume or a catch-up gets. Deletes, edits and reactions change an
/// entry and rebuild its frame, so every later join sees the message as it is now. Used from the room's
/// turns only.
/// </summary>
internal sealed class RoomHistory(int capacity)
{
    private readonly Queue<Entry> _entries = new();

    public int Count => _entries.Count;

    /// <summary>True when messages were dropped from the front to stay within the capacity (or none fit).</summary>
    public bool IsFull => _entries.Count >= capacity;

    /// <summary>The message frame of a stored message, with its id, author, edit time and reactions.</summary>
    public static byte[] Frame(StoredMessage message) =>
        ChatFrames.Message(message.Name, message.Message, message.Timestamp, PostKeys.ShownId(message.PostKey), message.User, message.EditedAt, message.Reactions);

    /// <summary>Adds the newest message, dropping the oldest past the capacity.</summary>
    public void Append(StoredMessage message, byte[] frame)
    {
        if (capacity == 0)
        {
            return;
        }

        if (_entries.Count >= capacity)
        {
            _entries.Dequeue();
        }

        _entries.Enqueue(new Entry(message, frame));
    }

    public bool TryPeekOldest(out long timestamp)
    {
        var found = _entries.TryPeek(out var oldest);
        timestamp = found ? oldest!.Message.Timestamp : 0;
        return found;
    }

    /// <summary>The frames, oldest first.</summary>
    public byte[][] Frames()
    {
        var frames = new byte[_entries.Count][];
        var i = 0;
        foreach (var entry in _entries)
        {
            frames[i++] = entry.Frame;
        }

        return frames;
    }

    /// <summary>The messages newer than <paramref name="after"/>, oldest first, added to <paramref name="messages"/>.</summary>
    public void AddAfter(long after, List<(long Timestamp, byte[] Frame)> messages)
    {
        foreach (var entry in _entries)
        {
            if (entry.Message.Timestamp > after)
            {
                messages.Add((entry.Message.Timestamp, entry.Frame));
            }
        }
    }

    public void Remove(long timestamp)
    {
        if (Find(timestamp) is null)
        {
            return;
        }

        var kept = _entries.Where(entry => entry.Message.Timestamp != timestamp).ToList();
        _entries.Clear();
        foreach (var entry in kept)
        {
            _entries.Enqueue(entry);
        }
    }

    /// <summary>The message's text is now <paramref name="message"/> (an edit newer than the one it shows, if any).</summary>
    public void Edit(long timestamp, string message, long editedAt)
    {
        if (Find(timestamp) is { } entry && (entry.Message.EditedAt ?? 0) < editedAt)
        {
            entry.Update(entry.Message with { Message = message, EditedAt = editedAt });
        }
    }

    public void SetReactions(long timestamp, string? counts)
    {
        if (Find(timestamp) is { } entry)
        {
            entry.Update(entry.Message with { Reactions = counts });
        }
    }

    public void Clear() => _entries.Clear();

    private Entry? Find(long timestamp)
    {
        foreach (var entry in _entries)
        {
            if (entry.Message.Timestamp == timestamp)
            {
                return entry;
            }
        }

        return null;
    }

    private sealed class Entry(StoredMessage message, byte[] frame)
    {
        public StoredMessage Message { get; private set; } = message;

        public byte[] Frame { get; private set; } = frame;

        public void Update(StoredMessage message)
        {
            Message = message;
            Frame = RoomHistory.Frame(message);
        }
    }
}
