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
    /// ("Capabilities"). A token that is not a string is an invalid token. <paramref name="caps"/> is null
    /// without <c>caps</c>; a list enables the capabilities it names that the server knows (unknown ones
    /// are never an error), and anything else than a list of strings enables none (the answer says so).
    /// </summary>
    /// <returns>Null when valid; otherwise the error frame to send before closing (1008).</returns>
    public static byte[]? ReadSignIn(ReadOnlySpan<byte> frame, out string? token, out Capabilities? caps)
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

        caps = ReadCaps(frame);
        return null;
    }

    /// <summary>The capabilities the server knows, in the order its <c>caps</c> answer lists them.</summary>
    public static readonly (string Name, Capabilities Cap)[] KnownCaps =
    [
        ("typing", Capabilities.Typing),
        ("reactions", Capabilities.Reactions),
        ("edits", Capabilities.Edits),
        ("presence", Capabilities.Presence),
    ];

    /// <summary>
    /// Which kind of frame a named session sent, by the keys it carries: <c>edit</c>, <c>react</c>,
    /// <c>typing</c>, <c>delete</c>, or <c>token</c> without <c>message</c>; anything else is read as a message.
    /// </summary>
    public static FrameKind KindOf(ReadOnlySpan<byte> frame)
    {
        // The hot path: the page and the original client put "message" first, and only an edit carries
        // a message and another key that changes what it means (the scan is vectorised, and a text with
        // "edit" in it just takes the long way).
        if (frame.StartsWith("""{"message":"""u8) && frame.IndexOf("\"edit\""u8) < 0)
        {
            return FrameKind.Message;
        }

        var kind = FrameKind.Message;
        var hasMessage = false;
        var hasToken = false;
        try
        {
            var reader = new Utf8JsonReader(frame);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return FrameKind.Message;
            }

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var key = reader.ValueTextEquals("edit"u8) ? FrameKind.Edit
                    : reader.ValueTextEquals("react"u8) ? FrameKind.React
                    : reader.ValueTextEquals("typing"u8) ? FrameKind.Typing
                    : reader.ValueTextEquals("delete"u8) ? FrameKind.Delete
                    : FrameKind.Message;
                hasMessage |= reader.ValueTextEquals("message"u8);
                hasToken |= reader.ValueTextEquals("token"u8);
                reader.Read();
                if (key != FrameKind.Message && reader.TokenType != JsonTokenType.Null && (kind == FrameKind.Message || key < kind))
                {
                    kind = key;
                }

                reader.Skip();
            }
        }
        catch (JsonException)
        {
            // Not JSON: the message rules answer it.
            return FrameKind.Message;
        }

        return kind != FrameKind.Message ? kind : hasToken && !hasMessage ? FrameKind.Token : FrameKind.Message;
    }

    /// <summary>
    /// Reads <c>{"typing": true}</c>. Anything else (false, not a boolean) is no typing hint: dropped silently,
    /// like hints past the throttle.
    /// </summary>
    public static bool ReadTyping(ReadOnlySpan<byte> frame) =>
        TryReadObject(frame, "typing"u8, default, out var field, out _) && field.Token == JsonTokenType.True;

    /// <summary>Reads <c>{"edit": &lt;timestamp&gt;, "message": "&lt;text&gt;"}</c> (the text under the message rules).</summary>
    /// <returns>Null when valid; otherwise the error frame to send (the socket stays open).</returns>
    public static byte[]? ReadEdit(ReadOnlySpan<byte> frame, int maxLength, out long timestamp, out string message)
    {
        timestamp = 0;
        message = "";
        if (!TryReadObject(frame, "edit"u8, "message"u8, out var edit, out var text) || edit.Integer is not { } value || value < 0)
        {
            return ErrorFrames.InvalidEdit;
        }

        if (!text.IsString)
        {
            return ErrorFrames.MessageNotString;
        }

        if (text.Text!.Length > maxLength)
        {
            return ErrorFrames.MessageTooLong;
        }

        timestamp = value;
        message = text.Text;
        return null;
    }

    /// <summary>Reads <c>{"react": &lt;timestamp&gt;, "emoji": "&lt;emoji&gt;"}</c> (see <see cref="EmojiRules"/>).</summary>
    /// <returns>Null when valid; otherwise the error frame to send (the socket stays open).</returns>
    public static byte[]? ReadReact(ReadOnlySpan<byte> frame, out long timestamp, out string emoji)
    {
        timestamp = 0;
        emoji = "";
        if (!TryReadObject(frame, "react"u8, "emoji"u8, out var react, out var text) || react.Integer is not { } value || value < 0)
        {
            return ErrorFrames.InvalidReact;
        }

        if (!text.IsString || !EmojiRules.IsEmoji(text.Text))
        {
            return ErrorFrames.InvalidEmoji;
        }

        timestamp = value;
        emoji = text.Text!;
        return null;
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

    /// <summary>
    /// The name frame's <c>caps</c>: null when absent (or null), the known capabilities a list of strings
    /// names, <see cref="Capabilities.None"/> for anything else.
    /// </summary>
    private static Capabilities? ReadCaps(ReadOnlySpan<byte> frame)
    {
        try
        {
            var reader = new Utf8JsonReader(frame);
            reader.Read();
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var wanted = reader.ValueTextEquals("caps"u8);
                reader.Read();
                if (!wanted)
                {
                    reader.Skip();
                    continue;
                }

                if (reader.TokenType == JsonTokenType.Null)
                {
                    return null;
                }

                if (reader.TokenType != JsonTokenType.StartArray)
                {
                    return Capabilities.None;
                }

                var caps = Capabilities.None;
                while (reader.Read() && reader.TokenType == JsonTokenType.String)
                {
                    foreach (var (name, cap) in KnownCaps)
                    {
                        if (reader.ValueTextEquals(name))
                        {
                            caps |= cap;
                        }
                    }
                }

                return reader.TokenType == JsonTokenType.EndArray ? caps : Capabilities.None;
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
                        reader.TokenType == JsonTokenType.String ? ReadString(ref reader) : null,
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

    /// <summary>
    /// A string value, or null for one with a lone surrogate escaped in it (<c>"\ud800"</c>: valid JSON, but
    /// no text), which the rules then refuse as not a string.
    /// </summary>
    private static string? ReadString(ref Utf8JsonReader reader)
    {
        try
        {
            return reader.GetString();
        }
        catch (InvalidOperationException)
        {
            return null;
        }
    }

    /// <summary>One property as read: its token (None when absent), its text if a string, its value if an integer that fits a long.</summary>
    private readonly record struct Field(JsonTokenType Token, string? Text, long? Integer)
    {
        public bool IsAbsentOrNull => Token is JsonTokenType.None or JsonTokenType.Null;

        public bool IsString => Token == JsonTokenType.String && Text is not null;
    }
}

/// <summary>What a named session's frame asks for. A frame with several of these keys is the first listed here.</summary>
public enum FrameKind
{
    Message,
    Edit,
    React,
    Typing,
    Delete,
    Token,
}
