using System.Buffers;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace Chat.Orleans;

/// <summary>
/// The server-to-client frames of the protocol, as UTF-8 JSON. Frames are built once and the same
/// bytes go to every recipient.
/// </summary>
public static class ChatFrames
{
    public static readonly byte[] Ready = """{"ready":true}"""u8.ToArray();

    /// <summary>Extension: a resumed join closed the client's gap.</summary>
    public static readonly byte[] Resumed = """{"resumed":true}"""u8.ToArray();

    /// <summary>Extension: a resumed join had more to catch up than the room sends; the client pages back.</summary>
    public static readonly byte[] NotResumed = """{"resumed":false}"""u8.ToArray();

    /// <summary>
    /// A chat message. Extension fields: <paramref name="id"/>, the client's message id if it sent one, and
    /// <paramref name="user"/>, the verified user id (token <c>sub</c>) of its author, for verified authors only.
    /// </summary>
    public static byte[] Message(string name, string message, long timestamp, string? id = null, string? user = null) =>
        Write((name, message, timestamp, id, user), static (writer, m) =>
        {
            writer.WriteString("name"u8, m.name);
            writer.WriteString("message"u8, m.message);
            writer.WriteNumber("timestamp"u8, m.timestamp);
            if (m.id is not null)
            {
                writer.WriteString("id"u8, m.id);
            }

            WriteUser(writer, m.user);
        });

    /// <summary>Someone is in the room; <paramref name="user"/> (extension) only for a verified session. The name comes first (see <see cref="TryReadRosterChange"/>).</summary>
    public static byte[] Joined(string name, string? user = null) => Write((name, user), static (writer, m) =>
    {
        writer.WriteString("joined"u8, m.name);
        WriteUser(writer, m.user);
    });

    public static byte[] Quit(string name, string? user = null) => Write((name, user), static (writer, m) =>
    {
        writer.WriteString("quit"u8, m.name);
        WriteUser(writer, m.user);
    });

    /// <summary>Extension: the message with this timestamp was deleted.</summary>
    public static byte[] Deleted(long timestamp) => Write(timestamp, static (writer, t) => writer.WriteNumber("deleted"u8, t));

    /// <summary>Extension: the capabilities this session has (PROTOCOL.md, "Capabilities").</summary>
    public static byte[] Caps(string[] caps) => Write(caps, static (writer, c) =>
    {
        writer.WriteStartArray("caps"u8);
        foreach (var cap in c)
        {
            writer.WriteStringValue(cap);
        }

        writer.WriteEndArray();
    });

    /// <summary>
    /// Reads a <c>joined</c> or <c>quit</c> frame made by <see cref="Joined"/> or <see cref="Quit"/>: the
    /// member's name, and whether it joined. False for any other frame (checked by its first bytes, so
    /// that a chat message costs a prefix comparison).
    /// </summary>
    public static bool TryReadRosterChange(ReadOnlySpan<byte> frame, out string name, out bool joined)
    {
        joined = frame.StartsWith("""{"joined":"""u8);
        if (!joined && !frame.StartsWith("""{"quit":"""u8))
        {
            name = "";
            return false;
        }

        var reader = new Utf8JsonReader(frame);
        reader.Read();
        reader.Read();
        reader.Read();
        name = reader.GetString() ?? "";
        return true;
    }

    public static byte[] Error(string text) => Write(text, static (writer, t) => writer.WriteString("error"u8, t));

    private static void WriteUser(Utf8JsonWriter writer, string? user)
    {
        if (user is not null)
        {
            writer.WriteString("user"u8, user);
        }
    }

    [ThreadStatic]
    private static ArrayBufferWriter<byte>? t_buffer;

    [ThreadStatic]
    private static Utf8JsonWriter? t_writer;

    private static byte[] Write<TState>(TState state, Action<Utf8JsonWriter, TState> writeProperties)
    {
        // One reusable buffer and writer per thread: the only allocation left is the frame itself.
        var buffer = t_buffer ??= new ArrayBufferWriter<byte>(512);
        buffer.ResetWrittenCount();
        var writer = t_writer ??= new Utf8JsonWriter(buffer, new JsonWriterOptions
        {
            SkipValidation = true,
            // Frames are parsed by JSON.parse, never pasted into HTML, so HTML-sensitive characters and
            // non-ASCII text need no escaping; this keeps frames small.
            Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        });
        writer.Reset(buffer);
        writer.WriteStartObject();
        writeProperties(writer, state);
        writer.WriteEndObject();
        writer.Flush();
        return buffer.WrittenSpan.ToArray();
    }
}
