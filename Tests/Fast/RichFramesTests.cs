using System.Text;
using Chat.Orleans.Gateway.Protocol;
using Chat.Orleans.Gateway.Sessions;

namespace Chat.Orleans.Tests.Fast;

/// <summary>
/// PROTOCOL.md, "Rich rooms", without a socket or a room: the client frames' rules, what is an emoji, and
/// which room frames a session gets for the capabilities it asked for.
/// </summary>
[Trait("Category", "Fast")]
public sealed class RichFramesTests
{
    private const long Epoch = 7;

    [Theory]
    [InlineData("""{"message":"hi"}""", FrameKind.Message)]
    [InlineData("""{"message":"the word \"edit\" in a message"}""", FrameKind.Message)]
    [InlineData("""{"edit":5,"message":"x"}""", FrameKind.Edit)]
    [InlineData("""{"message":"x","edit":5}""", FrameKind.Edit)]
    [InlineData("""{"react":5,"emoji":"👍"}""", FrameKind.React)]
    [InlineData("""{"typing":true}""", FrameKind.Typing)]
    [InlineData("""{"delete":5}""", FrameKind.Delete)]
    [InlineData("""{"token":"t"}""", FrameKind.Token)]
    [InlineData("""{"token":"t","message":"hi"}""", FrameKind.Message)]
    [InlineData("""{"edit":null,"message":"x"}""", FrameKind.Message)]
    [InlineData("""{"typing":true,"delete":5}""", FrameKind.Typing)]
    [InlineData("""not json""", FrameKind.Message)]
    public void A_frame_is_the_kind_its_keys_say(string frame, FrameKind kind) => Assert.Equal(kind, ClientFrames.KindOf(Bytes(frame)));

    [Theory]
    [InlineData("""{"name":"a","caps":["presence","typing","edits","reactions"]}""", Capabilities.Typing | Capabilities.Reactions | Capabilities.Edits | Capabilities.Presence)]
    [InlineData("""{"name":"a","caps":["typing","unknown"]}""", Capabilities.Typing)]
    [InlineData("""{"name":"a","caps":[]}""", Capabilities.None)]
    [InlineData("""{"name":"a","caps":"typing"}""", Capabilities.None)]
    [InlineData("""{"name":"a","caps":["typing",1]}""", Capabilities.None)]
    [InlineData("""{"name":"a","caps":{"typing":true}}""", Capabilities.None)]
    public void Caps_enable_the_known_ones_and_anything_but_a_list_of_strings_enables_none(string frame, Capabilities expected)
    {
        Assert.Null(ClientFrames.ReadSignIn(Bytes(frame), out _, out var caps));
        Assert.Equal(expected, caps);
    }

    [Theory]
    [InlineData("""{"name":"a"}""")]
    [InlineData("""{"name":"a","caps":null}""")]
    public void No_caps_is_no_answer(string frame)
    {
        Assert.Null(ClientFrames.ReadSignIn(Bytes(frame), out _, out var caps));
        Assert.Null(caps);
    }

    [Theory]
    [InlineData("👍")]
    [InlineData("👍🏽")]
    [InlineData("❤️")]
    [InlineData("☕")]
    [InlineData("🇫🇷")]
    [InlineData("1️⃣")]
    [InlineData("#️⃣")]
    [InlineData("👩‍💻")]
    [InlineData("🏳️‍🌈")]
    [InlineData("©️")]
    public void An_emoji_or_emoji_sequence_is_one_emoji(string emoji) => Assert.True(EmojiRules.IsEmoji(emoji), emoji);

    [Theory]
    [InlineData("")]
    [InlineData("a")]
    [InlineData("1")]
    [InlineData("é")]
    [InlineData("!")]
    [InlineData("\u0007")]
    [InlineData("\u200D")]
    [InlineData("\uFE0F")]
    [InlineData("👍👍")]
    [InlineData("👍a")]
    [InlineData("a👍")]
    [InlineData("👨‍👩‍👧‍👦")]
    [InlineData("\uD83D")]
    [InlineData("\uDC4D\uD83D")]
    [InlineData("\uFFFD")]
    [InlineData("€")]
    public void Anything_else_is_not(string text) => Assert.False(EmojiRules.IsEmoji(text), text);

    [Fact]
    public void A_kilobyte_is_not_an_emoji() => Assert.False(EmojiRules.IsEmoji(string.Concat(Enumerable.Repeat("👍", 256))));

    [Fact]
    public void An_edit_keeps_the_message_rules()
    {
        Assert.Null(ClientFrames.ReadEdit(Bytes("""{"edit":12,"message":"fixed"}"""), 10, out var timestamp, out var text));
        Assert.Equal((12L, "fixed"), (timestamp, text));
        Assert.Same(ErrorFrames.MessageTooLong, ClientFrames.ReadEdit(Bytes("""{"edit":12,"message":"much too long"}"""), 10, out _, out _));
        Assert.Same(ErrorFrames.MessageNotString, ClientFrames.ReadEdit(Bytes("""{"edit":12,"message":3}"""), 10, out _, out _));
        Assert.Same(ErrorFrames.InvalidEdit, ClientFrames.ReadEdit(Bytes("""{"edit":-1,"message":"x"}"""), 10, out _, out _));
        Assert.Same(ErrorFrames.InvalidEdit, ClientFrames.ReadEdit(Bytes("""{"edit":"12","message":"x"}"""), 10, out _, out _));
    }

    [Fact]
    public void A_reaction_needs_a_timestamp_and_one_emoji_and_a_lone_surrogate_is_refused_without_an_exception()
    {
        Assert.Null(ClientFrames.ReadReact(Bytes("""{"react":12,"emoji":"🎉"}"""), out var timestamp, out var emoji));
        Assert.Equal((12L, "🎉"), (timestamp, emoji));
        Assert.Same(ErrorFrames.InvalidEmoji, ClientFrames.ReadReact(Bytes("""{"react":12,"emoji":"\ud83d"}"""), out _, out _));
        Assert.Same(ErrorFrames.InvalidEmoji, ClientFrames.ReadReact(Bytes("""{"react":12}"""), out _, out _));
        Assert.Same(ErrorFrames.InvalidReact, ClientFrames.ReadReact(Bytes("""{"react":true,"emoji":"🎉"}"""), out _, out _));
        Assert.Same(ErrorFrames.MessageNotString, ClientFrames.ReadMessage(Bytes("""{"message":"\ud83d"}"""), 10, out _, out _));
    }

    [Theory]
    [InlineData("""{"typing":true}""", true)]
    [InlineData("""{"typing":false}""", false)]
    [InlineData("""{"typing":"yes"}""", false)]
    [InlineData("""{"typing":1}""", false)]
    public void Only_typing_true_is_a_hint(string frame, bool hint) => Assert.Equal(hint, ClientFrames.ReadTyping(Bytes(frame)));

    [Fact]
    public void A_session_gets_only_the_rich_frames_of_its_capabilities_and_never_its_own_typing()
    {
        var frames = new[]
        {
            ChatFrames.Typing("ann", null),
            ChatFrames.Typing("me", "me-id"),
            ChatFrames.Edited(1, "fixed", 2),
            ChatFrames.Reactions(1, """{"👍":1}"""),
            ChatFrames.Message("ann", "hi", 3),
            ChatFrames.Deleted(1),
        };

        string[] Received(Capabilities caps)
        {
            var sink = new RecordingSink();
            var feed = new RoomFeed(sink);
            feed.Enable(caps, null, ChatFrames.Typing("me", "me-id"));
            feed.OnSnapshot(new RoomSnapshot(Epoch, 1, [], []));
            feed.OnEvents(new RoomEvents("room", Epoch, 2, [ChatFrames.Joined("me", "me-id")], 0));
            feed.OnEvents(new RoomEvents("room", Epoch, 3, frames, 0));
            return [.. sink.Frames.SkipWhile(f => !f.Contains("ready")).Skip(1)];
        }

        Assert.Equal([Text(frames[4]), Text(frames[5])], Received(Capabilities.None));
        Assert.Equal([Text(frames[0]), Text(frames[4]), Text(frames[5])], Received(Capabilities.Typing));
        Assert.Equal([Text(frames[2]), Text(frames[3]), Text(frames[4]), Text(frames[5])], Received(Capabilities.Edits | Capabilities.Reactions));
    }

    [Fact]
    public void A_catch_up_repeats_recent_edits_and_counts_of_messages_the_session_shows_to_sessions_with_the_cap()
    {
        string[] Received(Capabilities caps)
        {
            var sink = new RecordingSink();
            var feed = new RoomFeed(sink);
            feed.Enable(caps, null, null);
            feed.OnSnapshot(new RoomSnapshot(Epoch, 1, [], [ChatFrames.Message("ann", "helo", 10)], LastRelayed: 10));
            feed.OnEvents(new RoomEvents("room", Epoch, 2, [ChatFrames.Joined("me")], 0));
            var recent = new RecentChanges([], [10, 20], [ChatFrames.Edited(10, "hello", 15), ChatFrames.Edited(20, "not shown yet", 25)], [10], [ChatFrames.Reactions(10, """{"👍":1}""")]);
            feed.OnCatchUp(new RoomCatchUp(Epoch + 1, 5, [], [], [], Complete: true, Recent: recent), [], moved: true);
            return [.. sink.Frames.SkipWhile(f => !f.Contains("ready")).Skip(1)];
        }

        Assert.Equal(["""{"edited":10,"message":"hello","editedAt":15}"""], Received(Capabilities.Edits));
        Assert.Equal(["""{"reactions":10,"counts":{"👍":1}}"""], Received(Capabilities.Reactions));
        Assert.Empty(Received(Capabilities.None));
    }

    [Fact]
    public void Presence_follows_the_roster_a_session_is_sent_one_entry_per_person()
    {
        var sink = new RecordingSink();
        var feed = new RoomFeed(sink);
        feed.Enable(Capabilities.Presence, ChatFrames.Caps(["presence"]), null);
        feed.OnSnapshot(new RoomSnapshot(Epoch, 3, [ChatFrames.Joined("Ann", "ann"), ChatFrames.Joined("Ann", "ann"), ChatFrames.Joined("Ann")], []));
        feed.OnEvents(new RoomEvents("room", Epoch, 4, [ChatFrames.Joined("me"), ChatFrames.Quit("Ann", "ann"), ChatFrames.Quit("bob"), ChatFrames.Quit("Ann")], 0));

        Assert.Equal(
            [
                """{"joined":"Ann","user":"ann"}""", """{"joined":"Ann","user":"ann"}""", """{"joined":"Ann"}""",
                """{"presence":[{"name":"Ann","user":"ann","sockets":2},{"name":"Ann","sockets":1}]}""",
                """{"joined":"me"}""", """{"presence":{"name":"me","sockets":1}}""",
                """{"caps":["presence"]}""", """{"ready":true}""",
                """{"quit":"Ann","user":"ann"}""", """{"presence":{"name":"Ann","user":"ann","sockets":1}}""",

                // A quit of someone not present changes nobody: no presence frame.
                """{"quit":"bob"}""",
                """{"quit":"Ann"}""", """{"presence":{"name":"Ann","sockets":0}}""",
            ],
            sink.Frames);
    }

    [Fact]
    public void A_message_frame_carries_its_edit_time_and_reactions_only_when_it_has_them()
    {
        Assert.Equal("""{"name":"a","message":"m","timestamp":1}""", Text(ChatFrames.Message("a", "m", 1)));
        Assert.Equal("""{"name":"a","message":"m","timestamp":1,"user":"u","editedAt":5,"reactions":{"👍":2}}""", Text(ChatFrames.Message("a", "m", 1, null, "u", 5, """{"👍":2}""")));
        Assert.Equal("""{"reactions":1,"counts":{}}""", Text(ChatFrames.Reactions(1, null)));
    }

    private static byte[] Bytes(string text) => Encoding.UTF8.GetBytes(text);

    private static string Text(byte[] frame) => Encoding.UTF8.GetString(frame);
}
