using System.Text.Json;
using Npgsql;
using Xunit.Abstractions;

namespace Chat.Orleans.Tests.EndToEnd;

/// <summary>
/// PROTOCOL.md, "Rich rooms", over real sockets, two gateways, a silo and PostgreSQL: each frame with and
/// without its capability, what the original client sees beside them, and every refusal.
/// </summary>
public sealed class RichRoomTests(AuthCluster cluster, ITestOutputHelper output) : IClassFixture<AuthCluster>
{
    private static readonly string[] AllCaps = ["typing", "reactions", "edits", "presence"];

    // The keys an original client's frames start with (PROTOCOL.md, "Server to client").
    private static readonly string[] OriginalKeys = ["name", "joined", "quit", "ready", "error"];

    // The directory's route shares the scrollback's per-address limit (5 per second).
    private static readonly TimeSpan DirectoryPollPeriod = TimeSpan.FromMilliseconds(300);

    private static string NewRoom() => "rich-" + Guid.NewGuid().ToString("N")[..10];

    private static bool Has(JsonElement frame, string key) => frame.TryGetProperty(key, out _);

    private static string FirstKey(JsonElement frame) => frame.EnumerateObject().First().Name;

    [Fact]
    public async Task The_caps_answer_lists_what_was_enabled_in_the_servers_order_right_before_ready()
    {
        var room = NewRoom();
        await using var all = await cluster.SignInAsync(room, new { name = "all", caps = new[] { "presence", "bogus", "typing", "edits", "reactions", "typing" } });
        Assert.Equal(["typing", "reactions", "edits", "presence"], all.JoinFrames[^1].GetProperty("caps").EnumerateArray().Select(c => c.GetString()!));

        await using var some = await cluster.SignInAsync(room, new { name = "some", caps = new[] { "edits", "newer-than-this-server" } });
        Assert.Equal(["edits"], some.JoinFrames[^1].GetProperty("caps").EnumerateArray().Select(c => c.GetString()!));

        // caps that is not a list of strings enables nothing, and says so; the join goes on.
        foreach (var caps in new object[] { "typing", 7, new { typing = true }, new object[] { "typing", 3 } })
        {
            await using var odd = await cluster.SignInAsync(room, new { name = "odd", caps });
            Assert.Equal(0, odd.JoinFrames[^1].GetProperty("caps").GetArrayLength());
        }

        await using var none = await cluster.SignInAsync(room, new { name = "none" });
        Assert.DoesNotContain(none.JoinFrames, f => Has(f, "caps"));
    }

    [Fact]
    public async Task Typing_reaches_the_other_sessions_with_the_cap_once_per_interval_and_never_an_original_client()
    {
        var room = NewRoom();
        await using var alice = await cluster.SignInAsync(room, new { name = "x", token = AuthCluster.Token("alice", "Alice"), caps = AllCaps });
        await using var bob = await cluster.SignInAsync(room, new { name = "bob", caps = new[] { "typing" } }, cluster.SecondGateway);
        await using var carol = await cluster.SignInAsync(room, new { name = "carol" });
        await using var dave = await cluster.SignInAsync(room, new { name = "dave", caps = new[] { "edits" } });

        // A flood: the first counts, the rest fall within the 3 s interval and are dropped silently.
        for (var i = 0; i < 20; i++)
        {
            await alice.SendAsync(new { typing = true });
        }

        var typing = (await bob.ExpectAsync(f => Has(f, "typing"))).Match;
        Assert.Equal("Alice", TestChatClient.Str(typing, "typing"));
        Assert.Equal("alice", TestChatClient.Str(typing, "user"));

        await alice.SendAsync(new { message = "after typing" });
        var (beforeBob, _) = await bob.ExpectMessageAsync("after typing");
        Assert.DoesNotContain(beforeBob, f => Has(f, "typing"));
        foreach (var other in new[] { alice, carol, dave })
        {
            var (before, _) = await other.ExpectMessageAsync("after typing");
            Assert.DoesNotContain(before, f => Has(f, "typing"));
        }

        // {"typing": false} or anything but true is no hint and no error.
        await bob.SendAsync(new { typing = false });
        await bob.SendAsync(new { typing = "yes" });
        await bob.SendAsync(new { message = "still here" });
        var (beforeAlice, _) = await alice.ExpectMessageAsync("still here");
        Assert.DoesNotContain(beforeAlice, f => Has(f, "typing") || Has(f, "error"));
        output.WriteLine($"20 typing frames sent within the interval; 1 relayed to each session with the cap, 0 to the others");
    }

    [Fact]
    public async Task An_edit_by_its_author_is_relayed_to_sessions_with_the_cap_and_carried_by_history_resume_and_scrollback_across_a_restart()
    {
        var room = NewRoom();
        long timestamp;
        await using (var alice = await cluster.SignInAsync(room, new { name = "Alice", token = AuthCluster.Token("alice"), caps = AllCaps }))
        await using (var bob = await cluster.SignInAsync(room, new { name = "bob", caps = new[] { "edits" } }, cluster.SecondGateway))
        await using (var carol = await cluster.SignInAsync(room, new { name = "carol" }))
        {
            await alice.SendAsync(new { message = "helo wrold" });
            timestamp = (await bob.ExpectMessageAsync("helo wrold")).Match.GetProperty("timestamp").GetInt64();

            await alice.SendAsync(new { edit = timestamp, message = "hello world" });
            var edited = (await bob.ExpectAsync(f => Has(f, "edited"))).Match;
            Assert.Equal(timestamp, edited.GetProperty("edited").GetInt64());
            Assert.Equal("hello world", TestChatClient.Str(edited, "message"));
            var editedAt = edited.GetProperty("editedAt").GetInt64();
            Assert.True(editedAt >= timestamp);
            await alice.ExpectAsync(f => Has(f, "edited"));

            await alice.SendAsync(new { message = "marker" });
            var (beforeCarol, _) = await carol.ExpectMessageAsync("marker");
            Assert.DoesNotContain(beforeCarol, f => Has(f, "edited"));

            await AssertEditedAsync(room, timestamp, "hello world", editedAt);
        }

        await cluster.RestartAsync();
        var text = await AssertEditedAsync(room, timestamp, "hello world", null);
        output.WriteLine($"after a restart of the silo and gateway, history, resume and scrollback read: {text}");

        // The log keeps the earlier text for an audit.
        await using var connection = new NpgsqlConnection(cluster.Postgres.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT message FROM chat_message_edits WHERE room = $1 AND timestamp_ms = $2", connection)
        {
            Parameters = { new() { Value = room }, new() { Value = timestamp } },
        };
        Assert.Equal("helo wrold", await command.ExecuteScalarAsync());
    }

    [Fact]
    public async Task Nobody_edits_what_is_not_theirs_or_is_deleted_and_an_edit_keeps_the_message_rules()
    {
        var room = NewRoom();
        await using var alice = await cluster.SignInAsync(room, new { name = "Alice", token = AuthCluster.Token("alice"), caps = AllCaps });
        await using var eve = await cluster.SignInAsync(room, new { name = "Eve", token = AuthCluster.Token("eve"), caps = AllCaps });
        await using var anonymous = await cluster.SignInAsync(room, new { name = "anon", caps = AllCaps });
        await alice.SendAsync(new { message = "mine" });
        var timestamp = (await eve.ExpectMessageAsync("mine")).Match.GetProperty("timestamp").GetInt64();

        async Task Refused(TestChatClient client, object frame, string error)
        {
            await client.SendAsync(frame);
            Assert.Equal(error, TestChatClient.Str((await client.ExpectErrorAsync()).Match, "error"));
            Assert.False(client.Closed.IsCompleted);
        }

        await Refused(eve, new { edit = timestamp, message = "eve's now" }, "You cannot edit this message.");
        await Refused(anonymous, new { edit = timestamp, message = "anon's now" }, "You cannot edit this message.");
        await Refused(alice, new { edit = 12345, message = "nothing there" }, "You cannot edit this message.");
        await Refused(alice, new { edit = timestamp, message = new string('x', 257) }, "Message too long.");
        await Refused(alice, new { edit = timestamp, message = 5 }, "Message must be a string.");
        await Refused(alice, new { edit = "soon", message = "x" }, "edit must be a message's timestamp.");

        await alice.SendAsync(new { delete = timestamp });
        await alice.ExpectAsync(f => Has(f, "deleted"));
        await Refused(alice, new { edit = timestamp, message = "back from the dead" }, "You cannot edit this message.");

        // Nothing was changed by any of it.
        await using var later = await cluster.SignInAsync(room, new { name = "later" });
        Assert.DoesNotContain(later.JoinFrames, f => Has(f, "message"));
    }

    [Fact]
    public async Task Reactions_toggle_per_person_reach_sessions_with_the_cap_and_ride_on_history_and_scrollback_across_a_restart()
    {
        var room = NewRoom();
        long timestamp;
        await using (var alice = await cluster.SignInAsync(room, new { name = "Alice", token = AuthCluster.Token("alice"), caps = AllCaps }))
        await using (var aliceAgain = await cluster.SignInAsync(room, new { name = "Alice", token = AuthCluster.Token("alice"), caps = AllCaps }, cluster.SecondGateway))
        await using (var bob = await cluster.SignInAsync(room, new { name = "bob", caps = new[] { "reactions" } }, cluster.SecondGateway))
        await using (var carol = await cluster.SignInAsync(room, new { name = "carol" }))
        {
            await carol.SendAsync(new { message = "react to me" });
            timestamp = (await bob.ExpectMessageAsync("react to me")).Match.GetProperty("timestamp").GetInt64();

            async Task<string> Counts(TestChatClient client) =>
                (await client.ExpectAsync(f => Has(f, "reactions") && f.GetProperty("reactions").ValueKind == JsonValueKind.Number)).Match.GetProperty("counts").GetRawText();

            await alice.SendAsync(new { react = timestamp, emoji = "👍" });
            Assert.Equal("""{"👍":1}""", Compact(await Counts(bob)));

            // The same person in another tab toggles the same reaction: it goes.
            await aliceAgain.SendAsync(new { react = timestamp, emoji = "👍" });
            Assert.Equal("{}", Compact(await Counts(bob)));

            await alice.SendAsync(new { react = timestamp, emoji = "👍" });
            Assert.Equal("""{"👍":1}""", Compact(await Counts(bob)));
            await bob.SendAsync(new { react = timestamp, emoji = "👍" });
            Assert.Equal("""{"👍":2}""", Compact(await Counts(bob)));
            await bob.SendAsync(new { react = timestamp, emoji = "🎉" });
            Assert.Equal("""{"👍":2,"🎉":1}""", Compact(await Counts(bob)));

            // An anonymous session reacts per name; an original client sees none of it.
            await carol.SendAsync(new { react = timestamp, emoji = "🎉" });
            await alice.ExpectAsync(f => Has(f, "counts") && Compact(f.GetProperty("counts").GetRawText()) == """{"👍":2,"🎉":2}""");
            await carol.SendAsync(new { message = "marker" });
            var (beforeCarol, _) = await carol.ExpectMessageAsync("marker");
            Assert.DoesNotContain(beforeCarol, f => Has(f, "reactions"));

            await using var joiner = await cluster.SignInAsync(room, new { name = "joiner" });
            Assert.Equal("""{"👍":2,"🎉":2}""", Compact(MessageFrame(joiner.JoinFrames, timestamp).GetProperty("reactions").GetRawText()));
        }

        await cluster.RestartAsync();
        await using var afterRestart = await cluster.SignInAsync(room, new { name = "after" });
        Assert.Equal("""{"👍":2,"🎉":2}""", Compact(MessageFrame(afterRestart.JoinFrames, timestamp).GetProperty("reactions").GetRawText()));
        var scrollback = await ScrollbackAsync(room);
        Assert.Equal("""{"👍":2,"🎉":2}""", Compact(MessageFrame(scrollback, timestamp).GetProperty("reactions").GetRawText()));
    }

    [Fact]
    public async Task A_reaction_must_be_one_emoji_on_a_live_message_with_room_for_it_and_every_refusal_leaves_the_socket_open()
    {
        var room = NewRoom();
        await using var alice = await cluster.SignInAsync(room, new { name = "Alice", token = AuthCluster.Token("alice"), caps = AllCaps });
        await alice.SendAsync(new { message = "target" });
        var timestamp = (await alice.ExpectMessageAsync("target")).Match.GetProperty("timestamp").GetInt64();

        var invalid = new[] { "a", "1", "#", "\u0007", "\u200D", new string('x', 1024), "👍👍", "👍a", "", "→x", "\uFFFD", "👨‍👩‍👧" /* 18 bytes */ };
        foreach (var emoji in invalid)
        {
            await alice.SendAsync(new { react = timestamp, emoji });
            Assert.Equal("Invalid emoji.", TestChatClient.Str((await alice.ExpectErrorAsync()).Match, "error"));
        }

        // A lone surrogate, escaped as JSON allows; and an emoji that is not a string.
        foreach (var raw in new[] { $$"""{"react":{{timestamp}},"emoji":"\ud83d"}""", $$"""{"react":{{timestamp}},"emoji":7}""" })
        {
            await alice.SendTextAsync(raw);
            Assert.Equal("Invalid emoji.", TestChatClient.Str((await alice.ExpectErrorAsync()).Match, "error"));
        }

        await alice.SendAsync(new { react = "x", emoji = "👍" });
        Assert.Equal("react must be a message's timestamp.", TestChatClient.Str((await alice.ExpectErrorAsync()).Match, "error"));
        await alice.SendAsync(new { react = 12345, emoji = "👍" });
        Assert.Equal("No such message.", TestChatClient.Str((await alice.ExpectErrorAsync()).Match, "error"));

        // Skin tones, families, flags and keycaps are one emoji each; twenty distinct ones fill a message.
        string[] valid =
        [
            "👍🏽", "👩‍💻", "🇫🇷", "1️⃣", "❤️", "😀", "😂", "🎉", "😮", "😢",
            "🔥", "👀", "🙏", "💯", "✅", "🚀", "🤔", "👏", "🥳", "☕",
        ];
        foreach (var emoji in valid)
        {
            await alice.SendAsync(new { react = timestamp, emoji });
            var counts = (await alice.ExpectAsync(f => Has(f, "counts") || Has(f, "error"))).Match;
            Assert.True(Has(counts, "counts"), $"{emoji} was refused: {counts.GetRawText()}");
        }

        await alice.SendAsync(new { react = timestamp, emoji = "🌈" });
        Assert.Equal("This message has as many different reactions as it may have.", TestChatClient.Str((await alice.ExpectErrorAsync()).Match, "error"));

        // One of those twenty, by another person, still counts.
        await using var bob = await cluster.SignInAsync(room, new { name = "bob", caps = AllCaps });
        await bob.SendAsync(new { react = timestamp, emoji = "🔥" });
        var last = (await bob.ExpectAsync(f => Has(f, "counts"))).Match;
        Assert.Equal(2, last.GetProperty("counts").GetProperty("🔥").GetInt32());
        Assert.Equal(20, last.GetProperty("counts").EnumerateObject().Count());

        await alice.SendAsync(new { delete = timestamp });
        await alice.ExpectAsync(f => Has(f, "deleted"));
        await alice.SendAsync(new { react = timestamp, emoji = "👍" });
        Assert.Equal("No such message.", TestChatClient.Str((await alice.ExpectErrorAsync()).Match, "error"));
        Assert.False(alice.Closed.IsCompleted);
    }

    [Fact]
    public async Task A_muted_person_may_read_but_not_edit_react_or_type()
    {
        var room = NewRoom();
        await using var eve = await cluster.SignInAsync(room, new { name = "Eve", token = AuthCluster.Token("eve-muted"), caps = AllCaps });
        await using var bob = await cluster.SignInAsync(room, new { name = "bob", caps = AllCaps }, cluster.SecondGateway);
        await eve.SendAsync(new { message = "before the mute" });
        var timestamp = (await bob.ExpectMessageAsync("before the mute")).Match.GetProperty("timestamp").GetInt64();

        var admin = AuthCluster.Token("root", role: Chat.Orleans.Gateway.Auth.ChatIdentity.Roles.Admin);
        var (status, _) = await cluster.CallAsync(HttpMethod.Post, "/api/bans", admin, new { user = "eve-muted", room, mute = true });
        Assert.Equal(201, status);

        // Both gateways enforce it within a second; the edit is tried until the mute answers it.
        var muted = false;
        for (var attempt = 0; attempt < 50 && !muted; attempt++)
        {
            await eve.SendAsync(new { edit = timestamp, message = "edited while muted?" });
            var answer = (await eve.ExpectAsync(f => Has(f, "error") || Has(f, "edited"))).Match;
            muted = TestChatClient.Str(answer, "error") == "You are muted in this room.";
        }

        Assert.True(muted);
        await eve.SendAsync(new { react = timestamp, emoji = "👍" });
        Assert.Equal("You are muted in this room.", TestChatClient.Str((await eve.ExpectErrorAsync()).Match, "error"));

        // Typing is dropped silently; the muted person still reads what others write.
        await eve.SendAsync(new { typing = true });
        await bob.SendAsync(new { message = "still readable" });
        await eve.ExpectMessageAsync("still readable");
        var (beforeBob, _) = await bob.ExpectMessageAsync("still readable");
        Assert.DoesNotContain(beforeBob, f => Has(f, "typing"));
        Assert.False(eve.Closed.IsCompleted);
    }

    [Fact]
    public async Task Presence_has_one_entry_per_person_with_a_socket_count_across_gateways_and_tabs()
    {
        var room = NewRoom();
        var token = AuthCluster.Token("alice", "Alice");
        await using var tab1 = await cluster.SignInAsync(room, new { name = "x", token });
        await using var tab2 = await cluster.SignInAsync(room, new { name = "x", token }, cluster.SecondGateway);
        await using var anon = await cluster.SignInAsync(room, new { name = "Alice" });
        await using var watcher = await cluster.SignInAsync(room, new { name = "watcher", caps = new[] { "presence" } });

        // Right after the roster: the whole list.
        var roster = watcher.JoinFrames.TakeWhile(f => Has(f, "joined")).Count();
        Assert.Equal(3, roster);
        var snapshot = watcher.JoinFrames[roster];
        Assert.Equal(JsonValueKind.Array, snapshot.GetProperty("presence").ValueKind);
        var entries = snapshot.GetProperty("presence").EnumerateArray().ToList();
        Assert.Equal(2, entries.Count);
        Assert.Contains(entries, e => TestChatClient.Str(e, "user") == "alice" && TestChatClient.Str(e, "name") == "Alice" && e.GetProperty("sockets").GetInt32() == 2);
        Assert.Contains(entries, e => !Has(e, "user") && TestChatClient.Str(e, "name") == "Alice" && e.GetProperty("sockets").GetInt32() == 1);

        async Task<JsonElement> Change() => (await watcher.ExpectAsync(f => Has(f, "presence"))).Match.GetProperty("presence");

        // The watcher's own arrival is a change too, right after its own joined.
        var own = watcher.JoinFrames.FindIndex(f => TestChatClient.Str(f, "joined") == "watcher");
        Assert.Equal("watcher", TestChatClient.Str(watcher.JoinFrames[own + 1].GetProperty("presence"), "name"));

        await using (var tab3 = await cluster.SignInAsync(room, new { name = "x", token }, cluster.SecondGateway))
        {
            var three = await Change();
            Assert.Equal(("alice", 3), (TestChatClient.Str(three, "user"), three.GetProperty("sockets").GetInt32()));
        }

        var two = await Change();
        Assert.Equal(("alice", 2), (TestChatClient.Str(two, "user"), two.GetProperty("sockets").GetInt32()));

        await anon.DisposeAsync();
        var gone = await Change();
        Assert.Equal((null, 0), (TestChatClient.Str(gone, "user"), gone.GetProperty("sockets").GetInt32()));

        // Over HTTP, the same entries.
        var (status, body) = await cluster.CallAsync(HttpMethod.Get, $"/api/room/{room}/presence");
        Assert.Equal(200, status);
        var http = JsonDocument.Parse(body).RootElement.GetProperty("presence").EnumerateArray().ToList();
        Assert.Equal(2, http.Count);
        Assert.Contains(http, e => TestChatClient.Str(e, "user") == "alice" && e.GetProperty("sockets").GetInt32() == 2);
        Assert.Contains(http, e => TestChatClient.Str(e, "name") == "watcher" && e.GetProperty("sockets").GetInt32() == 1);

        // The original joined/quit frames went on as before, one per session.
        Assert.DoesNotContain(tab1.Received.ToArray(), f => Has(f, "presence"));
    }

    [Fact]
    public async Task An_original_client_sees_only_original_frames_in_a_room_where_everything_else_happens()
    {
        var room = NewRoom();
        await using var original = await cluster.SignInAsync(room, new { name = "classic" });
        await using var rich = await cluster.SignInAsync(room, new { name = "R", token = AuthCluster.Token("rich"), caps = AllCaps }, cluster.SecondGateway);
        await rich.SendAsync(new { message = "first" });
        var timestamp = (await rich.ExpectMessageAsync("first")).Match.GetProperty("timestamp").GetInt64();
        await rich.SendAsync(new { typing = true });
        await rich.SendAsync(new { edit = timestamp, message = "first, edited" });
        await rich.SendAsync(new { react = timestamp, emoji = "👍" });
        await rich.ExpectAsync(f => Has(f, "counts"));
        await using (var other = await cluster.SignInAsync(room, new { name = "other", caps = AllCaps }))
        {
            await other.SendAsync(new { message = "last" });
            await original.ExpectMessageAsync("last");
        }

        await original.ExpectAsync(f => TestChatClient.Str(f, "quit") == "other");
        var frames = original.Received.ToArray();
        Assert.All(frames, f => Assert.Contains(FirstKey(f), OriginalKeys));
        Assert.DoesNotContain(frames, f => Has(f, "typing") || Has(f, "edited") || Has(f, "counts") || Has(f, "presence") || Has(f, "caps"));

        // Its next join shows the edited text (an added field it ignores says when).
        await using var again = await cluster.SignInAsync(room, new { name = "classic" });
        var message = MessageFrame(again.JoinFrames, timestamp);
        Assert.Equal("first, edited", TestChatClient.Str(message, "message"));
        output.WriteLine($"the original client got {frames.Length} frames, all of them original kinds");
    }

    [Fact]
    public async Task The_rooms_directory_lists_public_rooms_with_members_busiest_first_and_never_a_private_one()
    {
        var quiet = NewRoom();
        var busy = NewRoom();
        var (_, privateId) = await cluster.CallAsync(HttpMethod.Post, "/api/room");
        var clients = new List<TestChatClient>
        {
            await cluster.SignInAsync(quiet, new { name = "q" }),
            await cluster.SignInAsync(busy, new { name = "b1" }),
            await cluster.SignInAsync(busy, new { name = "b2" }, cluster.SecondGateway),
            await cluster.SignInAsync(busy, new { name = "b3" }),
            await cluster.SignInAsync(privateId, new { name = "secret" }),
        };
        try
        {
            var started = System.Diagnostics.Stopwatch.StartNew();
            List<(string Name, int Members)> rooms = [];
            await Poll.UntilAsync(async () =>
            {
                var (status, body) = await cluster.CallAsync(HttpMethod.Get, "/api/rooms?limit=100");
                Assert.Equal(200, status);
                rooms = [.. JsonDocument.Parse(body).RootElement.GetProperty("rooms").EnumerateArray().Select(r => (r.GetProperty("name").GetString()!, r.GetProperty("members").GetInt32()))];
                return rooms.Contains((busy, 3)) && rooms.Contains((quiet, 1));
            }, TimeSpan.FromSeconds(20), DirectoryPollPeriod);
            output.WriteLine($"both rooms listed {started.ElapsedMilliseconds} ms after their joins");

            Assert.True(rooms.IndexOf((busy, 3)) < rooms.IndexOf((quiet, 1)));
            Assert.DoesNotContain(rooms, r => r.Name == privateId);
            Assert.Equal(rooms.OrderByDescending(r => r.Members).Select(r => r.Members), rooms.Select(r => r.Members));

            var (_, one) = await cluster.CallAsync(HttpMethod.Get, "/api/rooms?limit=1", gateway: cluster.SecondGateway);
            Assert.Single(JsonDocument.Parse(one).RootElement.GetProperty("rooms").EnumerateArray());
            foreach (var bad in new[] { "0", "101", "x", "-1" })
            {
                Assert.Equal(400, (await cluster.CallAsync(HttpMethod.Get, $"/api/rooms?limit={bad}")).Status);
            }
        }
        finally
        {
            foreach (var client in clients)
            {
                await client.DisposeAsync();
            }
        }

        // Empty again: the room leaves the list within a report period or two.
        await Poll.UntilAsync(async () =>
        {
            var (_, body) = await cluster.CallAsync(HttpMethod.Get, "/api/rooms?limit=100");
            return !JsonDocument.Parse(body).RootElement.GetProperty("rooms").EnumerateArray().Any(r => r.GetProperty("name").GetString() == busy);
        }, TimeSpan.FromSeconds(20), DirectoryPollPeriod);
    }

    /// <summary>A JSON object of counts as compact text with its emoji unescaped, in its own order: <c>{"👍":2}</c>.</summary>
    private static string Compact(string json) =>
        "{" + string.Join(",", JsonDocument.Parse(json).RootElement.EnumerateObject().Select(p => $"\"{p.Name}\":{p.Value.GetRawText()}")) + "}";

    private static JsonElement MessageFrame(IEnumerable<JsonElement> frames, long timestamp) =>
        frames.Single(f => Has(f, "message") && f.TryGetProperty("timestamp", out var t) && t.GetInt64() == timestamp);

    private async Task<List<JsonElement>> ScrollbackAsync(string room)
    {
        var (status, body) = await cluster.CallAsync(HttpMethod.Get, $"/api/room/{room}/messages");
        Assert.Equal(200, status);
        return [.. JsonDocument.Parse(body).RootElement.GetProperty("messages").EnumerateArray()];
    }

    /// <summary>A new join, a resume from 0 and scrollback all show the edited text and when; returns it.</summary>
    private async Task<string> AssertEditedAsync(string room, long timestamp, string text, long? editedAt)
    {
        await using var joiner = await cluster.SignInAsync(room, new { name = "joiner" });
        await using var resumer = await cluster.SignInAsync(room, new { name = "resumer", since = 0 });
        foreach (var frame in new[] { MessageFrame(joiner.JoinFrames, timestamp), MessageFrame(resumer.JoinFrames, timestamp), MessageFrame(await ScrollbackAsync(room), timestamp) })
        {
            Assert.Equal(text, TestChatClient.Str(frame, "message"));
            var at = frame.GetProperty("editedAt").GetInt64();
            Assert.True(editedAt is null || at == editedAt, $"editedAt {at}, expected {editedAt}");
        }

        return text;
    }
}
