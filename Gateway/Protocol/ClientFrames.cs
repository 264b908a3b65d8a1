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
        if (!TryReadField(frame, "name"u8, out var value, out var notString))
        {
            return ErrorFrames.NotAnObject;
        }

        if (notString)
        {
            return ErrorFrames.NameNotString;
        }

        if (string.IsNullOrEmpty(value))
        {
            value = "anonymous";
        }

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
        try
        {
            var reader = new Utf8JsonReader(frame);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return null;
            }

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var matches = reader.ValueTextEquals("since"u8);
                reader.Read();
                if (matches && reader.TokenType != JsonTokenType.Null)
                {
                    if (reader.TokenType != JsonTokenType.Number || !reader.TryGetInt64(out var value) || value < 0)
                    {
                        return ErrorFrames.InvalidSince;
                    }

                    since = value;
                }

                reader.Skip();
            }

            return null;
        }
        catch (JsonException)
        {
            // The name rules have already refused a frame that is not JSON.
            return null;
        }
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
        if (!TryReadFields(frame, "message"u8, "id"u8, out var value, out var notString, out var idValue, out var idNotString))
        {
            return ErrorFrames.NotAnObject;
        }

        if (notString || value is null)
        {
            return ErrorFrames.MessageNotString;
        }

        if (value.Length > maxLength)
        {
            return ErrorFrames.MessageTooLong;
        }

        if (idNotString || (idValue is not null && !PostKeys.IsValidClientId(idValue)))
        {
            return ErrorFrames.InvalidMessageId;
        }

        message = value;
        id = idValue;
        return null;
    }

    private static bool TryReadField(ReadOnlySpan<byte> frame, ReadOnlySpan<byte> property, out string? value, out bool notString) =>
        TryReadFields(frame, property, default, out value, out notString, out _, out _);

    /// <summary>
    /// Reads up to two top-level string properties of a JSON object (an empty second name reads one).
    /// False when the frame is not a JSON object; a missing property gives null.
    /// </summary>
    private static bool TryReadFields(
        ReadOnlySpan<byte> frame,
        ReadOnlySpan<byte> first,
        ReadOnlySpan<byte> second,
        out string? firstValue,
        out bool firstNotString,
        out string? secondValue,
        out bool secondNotString)
    {
        firstValue = secondValue = null;
        firstNotString = secondNotString = false;
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
                    var notString = reader.TokenType != JsonTokenType.String && reader.TokenType != JsonTokenType.Null;
                    var value = reader.TokenType == JsonTokenType.String ? reader.GetString() : null;
                    if (isFirst)
                    {
                        (firstValue, firstNotString) = (value, notString);
                    }
                    else
                    {
                        (secondValue, secondNotString) = (value, notString);
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
}
