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
    /// A chat message. Extension fields: <paramref name="id"/>, the client's message id if it sent one,
    /// <paramref name="user"/>, the verified user id (token <c>sub</c>) of its author, for verified authors
    /// only, <paramref name="editedAt"/> when it was last edited, and <paramref name="reactions"/>, its
    /// reaction counts as a JSON object (see <see cref="Reactions"/>), when it has any.
    /// </summary>
    public static byte[] Message(string name, string message, long timestamp, string? id = null, string? user = null, long? editedAt = null, string? reactions = null) =>
        Write((name, message, timestamp, id, user, editedAt, reactions), static (writer, m) =>
        {
            writer.WriteString("name"u8, m.name);
            writer.WriteString("message"u8, m.message);
            writer.WriteNumber("timestamp"u8, m.timestamp);
            if (m.id is not null)
            {
                writer.WriteString("id"u8, m.id);
            }

            WriteUser(writer, m.user);
            if (m.editedAt is { } editedAt)
            {
                writer.WriteNumber("editedAt"u8, editedAt);
            }

            if (m.reactions is not null)
            {
                writer.WritePropertyName("reactions"u8);
                writer.WriteRawValue(m.reactions, skipInputValidation: true);
            }
        });

    /// <summary>Someone is in the room; <paramref name="user"/> (extension) only for a verified session. The name comes first, then the user (see <see cref="TryReadRosterChange"/>).</summary>
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

    /// <summary>Extension (cap typing): someone is typing. The name comes first (see <see cref="CapabilityOf"/>).</summary>
    public static byte[] Typing(string name, string? user) => Write((name, user), static (writer, m) =>
    {
        writer.WriteString("typing"u8, m.name);
        WriteUser(writer, m.user);
    });

    /// <summary>Extension (cap edits): the message with this timestamp now reads <paramref name="message"/>.</summary>
    public static byte[] Edited(long timestamp, string message, long editedAt) => Write((timestamp, message, editedAt), static (writer, m) =>
    {
        writer.WriteNumber("edited"u8, m.timestamp);
        writer.WriteString("message"u8, m.message);
        writer.WriteNumber("editedAt"u8, m.editedAt);
    });

    /// <summary>
    /// Extension (cap reactions): the reaction counts of the message with this timestamp, all of them;
    /// <paramref name="counts"/> is a JSON object of emoji and counts (<c>{}</c> for none), as the message log makes it.
    /// </summary>
    public static byte[] Reactions(long timestamp, string? counts) => Write((timestamp, counts), static (writer, m) =>
    {
        writer.WriteNumber("reactions"u8, m.timestamp);
        writer.WritePropertyName("counts"u8);
        writer.WriteRawValue(m.counts ?? "{}", skipInputValidation: true);
    });

    /// <summary>Extension (cap presence): one person's entry changed (<paramref name="sockets"/> 0: they left).</summary>
    public static byte[] PresenceChange(string name, string? user, int sockets) => Write((name, user, sockets), static (writer, m) =>
    {
        writer.WritePropertyName("presence"u8);
        WritePresenceEntry(writer, m.name, m.user, m.sockets);
    });

    /// <summary>Extension (cap presence): everyone in the room, one entry per person (also the body of <c>GET /api/room/&lt;name&gt;/presence</c>).</summary>
    public static byte[] Presence(IEnumerable<(string Name, string? User, int Sockets)> entries) => Write(entries, static (writer, e) =>
    {
        writer.WriteStartArray("presence"u8);
        foreach (var (name, user, sockets) in e)
        {
            WritePresenceEntry(writer, name, user, sockets);
        }

        writer.WriteEndArray();
    });

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
    /// member's name, its verified user id if any, and whether it joined. False for any other frame (checked
    /// by its first bytes, so that a chat message costs a prefix comparison).
    /// </summary>
    public static bool TryReadRosterChange(ReadOnlySpan<byte> frame, out string name, out string? user, out bool joined)
    {
        joined = frame.StartsWith("""{"joined":"""u8);
        user = null;
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
        if (reader.Read() && reader.TokenType == JsonTokenType.PropertyName && reader.ValueTextEquals("user"u8))
        {
            reader.Read();
            user = reader.GetString();
        }

        return true;
    }

    /// <summary>
    /// The capability a room event frame needs (<see cref="Capabilities.None"/>: every session gets it),
    /// told by its first key. Chat messages, the most frequent frames, are told by one byte.
    /// </summary>
    public static Capabilities CapabilityOf(ReadOnlySpan<byte> frame)
    {
        if (frame.Length < 3 || frame[2] is (byte)'n' or (byte)'j' or (byte)'q' or (byte)'d')
        {
            return Capabilities.None;
        }

        return frame.StartsWith("""{"typing":"""u8) ? Capabilities.Typing
            : frame.StartsWith("""{"edited":"""u8) ? Capabilities.Edits
            : frame.StartsWith("""{"reactions":"""u8) ? Capabilities.Reactions
            : Capabilities.None;
    }

    public static byte[] Error(string text) => Write(text, static (writer, t) => writer.WriteString("error"u8, t));

    private static void WritePresenceEntry(Utf8JsonWriter writer, string name, string? user, int sockets)
    {
        writer.WriteStartObject();
        writer.WriteString("name"u8, name);
        WriteUser(writer, user);
        writer.WriteNumber("sockets"u8, sockets);
        writer.WriteEndObject();
    }

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
