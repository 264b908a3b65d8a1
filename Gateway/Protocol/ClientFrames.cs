using System.Text.Json;

namespace Chat.Orleans.Gateway.Protocol;

/// <summary>
/// The rules for what a client may send (PROTOCOL.md, "Client to server"): a first frame with a name,
/// then frames with a message. Each rule answers with the value or with the error frame to send.
/// </summary>
public static class ClientFrames
{
    /// <summary>
    /// Reads the first frame, <c>{"name": ...}</c>. A missing, null or empty name is <c>anonymous</c>.
    /// </summary>
    /// <returns>
    /// Null when <paramref name="name"/> is valid; otherwise the error frame to send.
    /// <see cref="ErrorFrames.NameTooLong"/> ends the session (1009); the others leave it open, waiting
    /// for a valid name.
    /// </returns>
    public static byte[]? ReadName(ReadOnlySpan<byte> frame, int maxLength, out string name)
    {
        name = "";
        if (!TryReadObject(frame, "name"u8, default, out var field, out _))
        {
            return ErrorFrames.NotAnObject;
        }

        if (!field.IsAbsentOrNull && !field.IsString)
        {
            return ErrorFrames.NameNotString;
        }

        var value = string.IsNullOrEmpty(field.Text) ? "anonymous" : field.Text;
        if (value.Length > maxLength)
        {
            return ErrorFrames.NameTooLong;
        }

        name = value;
        return null;
    }

    /// <summary>
    /// Reads the name frame's optional <c>"since"</c> (extension, PROTOCOL.md "Resume"): the timestamp of
    /// the newest message the client has shown, a non-negative integer. Null when absent.
    /// </summary>
    /// <returns>Null when absent or valid; otherwise the error frame to send (the join goes on, as a plain one).</returns>
    public static byte[]? ReadSince(ReadOnlySpan<byte> frame, out long? since)
    {
        since = null;
        if (!TryReadObject(frame, "since"u8, default, out var field, out _) || field.IsAbsentOrNull)
        {
            // Not an object: the name rules have already refused it.
            return null;
        }

        if (field.Integer is not { } value || value < 0)
        {
            return ErrorFrames.InvalidSince;
        }

        since = value;
        return null;
    }

    /// <summary>
    /// Reads a later frame, <c>{"message": ...}</c>: a string of at most <paramref name="maxLength"/> UTF-16
    /// units, and optionally (extension) <c>"id"</c>, the client's id for it (<see cref="PostKeys.IsValidClientId"/>).
    /// </summary>
    /// <returns>Null when the frame is valid; otherwise the error frame to send (the socket stays open).</returns>
    public static byte[]? ReadMessage(ReadOnlySpan<byte> frame, int maxLength, out string message, out string? id)
    {
        message = "";
        id = null;
        if (!TryReadObject(frame, "message"u8, "id"u8, out var text, out var clientId))
        {
            return ErrorFrames.NotAnObject;
        }

        if (!text.IsString)
        {
            return ErrorFrames.MessageNotString;
        }

        if (text.Text!.Length > maxLength)
        {
            return ErrorFrames.MessageTooLong;
        }

        if (!clientId.IsAbsentOrNull && !(clientId.IsString && PostKeys.IsValidClientId(clientId.Text)))
        {
            return ErrorFrames.InvalidMessageId;
        }

        message = text.Text;
        id = clientId.Text;
        return null;
    }

    /// <summary>
    /// Reads the name frame's optional <c>"token"</c> (PROTOCOL.md, "Identity") and <c>"caps"</c>
    /// ("Capabilities"). A token that is not a string is an invalid token; <c>caps</c> that is not a list
    /// of strings asks for nothing (unknown capabilities are never an error).
    /// </summary>
    /// <returns>Null when valid; otherwise the error frame to send before closing (1008).</returns>
    public static byte[]? ReadSignIn(ReadOnlySpan<byte> frame, out string? token, out string[]? caps)
    {
        token = null;
        caps = null;
        if (!TryReadObject(frame, "token"u8, default, out var field, out _))
        {
            return null;
        }

        if (!field.IsAbsentOrNull)
        {
            if (!field.IsString || string.IsNullOrEmpty(field.Text))
            {
                return ErrorFrames.InvalidToken;
            }

            token = field.Text;
        }

        caps = ReadStringList(frame, "caps"u8);
        return null;
    }

    /// <summary>Which kind of frame a named session sent: by the key it carries (a frame with none of them is read as a message).</summary>
    public static FrameKind KindOf(ReadOnlySpan<byte> frame)
    {
        // The hot path: the page and the original client put "message" first.
        if (frame.StartsWith("""{"message":"""u8))
        {
            return FrameKind.Message;
        }

        if (!TryReadObject(frame, "delete"u8, "token"u8, out var delete, out var token))
        {
            return FrameKind.Message;
        }

        if (!delete.IsAbsentOrNull)
        {
            return FrameKind.Delete;
        }

        return token.IsAbsentOrNull || frame.IndexOf("\"message\""u8) >= 0 ? FrameKind.Message : FrameKind.Token;
    }

    /// <summary>Reads <c>{"delete": &lt;timestamp&gt;}</c>.</summary>
    /// <returns>Null when valid; otherwise the error frame to send (the socket stays open).</returns>
    public static byte[]? ReadDelete(ReadOnlySpan<byte> frame, out long timestamp)
    {
        timestamp = 0;
        if (!TryReadObject(frame, "delete"u8, default, out var field, out _) || field.Integer is not { } value || value < 0)
        {
            return ErrorFrames.InvalidDelete;
        }

        timestamp = value;
        return null;
    }

    /// <summary>Reads a later <c>{"token": ...}</c>, which replaces the session's token.</summary>
    public static byte[]? ReadToken(ReadOnlySpan<byte> frame, out string token)
    {
        token = "";
        if (!TryReadObject(frame, "token"u8, default, out var field, out _) || !field.IsString || string.IsNullOrEmpty(field.Text))
        {
            return ErrorFrames.InvalidToken;
        }

        token = field.Text;
        return null;
    }

    /// <summary>A top-level property that is a list of strings, or null when it is absent or anything else.</summary>
    private static string[]? ReadStringList(ReadOnlySpan<byte> frame, ReadOnlySpan<byte> property)
    {
        try
        {
            var reader = new Utf8JsonReader(frame);
            reader.Read();
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var wanted = reader.ValueTextEquals(property);
                reader.Read();
                if (wanted && reader.TokenType == JsonTokenType.StartArray)
                {
                    var list = new List<string>();
                    while (reader.Read() && reader.TokenType == JsonTokenType.String)
                    {
                        list.Add(reader.GetString()!);
                    }

                    return reader.TokenType == JsonTokenType.EndArray ? [.. list] : null;
                }

                reader.Skip();
            }
        }
        catch (JsonException)
        {
        }

        return null;
    }

    /// <summary>
    /// Reads up to two top-level properties of a JSON object (an empty second name reads one). False when
    /// the frame is not a JSON object, or is truncated or followed by anything.
    /// </summary>
    private static bool TryReadObject(ReadOnlySpan<byte> frame, ReadOnlySpan<byte> first, ReadOnlySpan<byte> second, out Field firstField, out Field secondField)
    {
        firstField = secondField = default;
        try
        {
            var reader = new Utf8JsonReader(frame);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return false;
            }

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var isFirst = reader.ValueTextEquals(first);
                var isSecond = !isFirst && !second.IsEmpty && reader.ValueTextEquals(second);
                reader.Read();
                if (isFirst || isSecond)
                {
                    var field = new Field(
                        reader.TokenType,
                        reader.TokenType == JsonTokenType.String ? reader.GetString() : null,
                        reader.TokenType == JsonTokenType.Number && reader.TryGetInt64(out var integer) ? integer : null);
                    if (isFirst)
                    {
                        firstField = field;
                    }
                    else
                    {
                        secondField = field;
                    }
                }

                reader.Skip();
            }

            // Reading to the end rejects truncated objects and trailing garbage.
            while (reader.Read())
            {
            }

            return true;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    /// <summary>One property as read: its token (None when absent), its text if a string, its value if an integer that fits a long.</summary>
    private readonly record struct Field(JsonTokenType Token, string? Text, long? Integer)
    {
        public bool IsAbsentOrNull => Token is JsonTokenType.None or JsonTokenType.Null;

        public bool IsString => Token == JsonTokenType.String;
    }
}

/// <summary>What a named session's frame asks for.</summary>
public enum FrameKind
{
    Message,
    Token,
    Delete,
}
