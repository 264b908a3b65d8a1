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

    /// <summary>Reads a later frame, <c>{"message": ...}</c>: a string of at most <paramref name="maxLength"/> UTF-16 units.</summary>
    /// <returns>Null when <paramref name="message"/> is valid; otherwise the error frame to send (the socket stays open).</returns>
    public static byte[]? ReadMessage(ReadOnlySpan<byte> frame, int maxLength, out string message)
    {
        message = "";
        if (!TryReadField(frame, "message"u8, out var value, out var notString))
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

        message = value;
        return null;
    }

    /// <summary>
    /// Reads one top-level string property of a JSON object. False when the frame is not a JSON object;
    /// a missing property gives null.
    /// </summary>
    private static bool TryReadField(ReadOnlySpan<byte> frame, ReadOnlySpan<byte> property, out string? value, out bool notString)
    {
        value = null;
        notString = false;
        try
        {
            var reader = new Utf8JsonReader(frame);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return false;
            }

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var matches = reader.ValueTextEquals(property);
                reader.Read();
                if (matches)
                {
                    notString = reader.TokenType != JsonTokenType.String && reader.TokenType != JsonTokenType.Null;
                    value = reader.TokenType == JsonTokenType.String ? reader.GetString() : null;
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
