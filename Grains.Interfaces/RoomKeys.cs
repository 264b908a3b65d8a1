namespace Chat.Orleans;

/// <summary>What a room's grain key says about the room.</summary>
public static class RoomKeys
{
    /// <summary>
    /// Private rooms are keyed by a 64-character lowercase hex id (PROTOCOL.md, "HTTP routes"); public names
    /// are shorter. The directory never lists a private room.
    /// </summary>
    public static bool IsPrivate(ReadOnlySpan<char> room)
    {
        if (room.Length != 64)
        {
            return false;
        }

        foreach (var c in room)
        {
            if (!char.IsAsciiHexDigitLower(c))
            {
                return false;
            }
        }

        return true;
    }
}
