using System.Diagnostics;
using System.Net.WebSockets;
using System.Text.Json;
using Chat.Orleans.Gateway.Auth;
using Xunit.Abstractions;

namespace Chat.Orleans.Tests.EndToEnd;

/// <summary>
/// PROTOCOL.md, "Moderation", over real sockets, two gateways, a silo and PostgreSQL: deletes, bans and
/// mutes, closing a room, posting as the service, the audit log, and every refusal.
/// </summary>
public sealed class ModerationTests(AuthCluster cluster, ITestOutputHelper output) : IClassFixture<AuthCluster>
{
    private static readonly string Admin = AuthCluster.Token("root", role: ChatIdentity.Roles.Admin);

    private static string NewRoom() => "mod-" + Guid.NewGuid().ToString("N")[..10];

    [Fact]
    public async Task A_message_deleted_by_its_author_vanishes_from_every_session_history_and_scrollback_and_stays_gone_after_a_restart()
    {
        var room = NewRoom();
        var alice = await cluster.SignInAsync(room, new { name = "Alice", token = AuthCluster.Token("alice") });
        var bob = await cluster.SignInAsync(room, new { name = "bob" }, cluster.SecondGateway);
        long timestamp;
        await using (alice)
        await using (bob)
        {
            await alice.SendAsync(new { message = "oops" });
            await alice.SendAsync(new { message = "kept" });
            timestamp = (await bob.ExpectMessageAsync("oops")).Match.GetProperty("timestamp").GetInt64();
            await bob.ExpectMessageAsync("kept");

            await alice.SendAsync(new { delete = timestamp });
            Assert.Equal(timestamp, (await bob.ExpectAsync(f => f.TryGetProperty("deleted", out _))).Match.GetProperty("deleted").GetInt64());
            Assert.Equal(timestamp, (await alice.ExpectAsync(f => f.TryGetProperty("deleted", out _))).Match.GetProperty("deleted").GetInt64());

            // Twice: there is no such message any more.
            await alice.SendAsync(new { delete = timestamp });
            Assert.Equal("No such message.", TestChatClient.Str((await alice.ExpectErrorAsync()).Match, "error"));
        }

        await AssertGoneAsync(room, "oops", "kept", timestamp);
        await cluster.RestartAsync();
        await AssertGoneAsync(room, "oops", "kept", timestamp);
    }

    [Fact]
    public async Task Nobody_but_the_author_or_a_moderator_deletes_and_a_moderators_delete_is_audited()
    {
        var room = NewRoom();
        var alice = await cluster.SignInAsync(room, new { name = "Alice", token = AuthCluster.Token("alice") });
        var eve = await cluster.SignInAsync(room, new { name = "Eve", token = AuthCluster.Token("eve") });
        var anonymous = await cluster.SignInAsync(room, new { name = "anon" });
        var moderator = await cluster.SignInAsync(room, new { name = "Mod", token = AuthCluster.Token("mod", role: ChatIdentity.Roles.Moderator, rooms: [room]) }, cluster.SecondGateway);
        long timestamp;
        await using (alice)
        await using (eve)
        await using (anonymous)
        await using (moderator)
        {
            await alice.SendAsync(new { message = "alice's" });
            timestamp = (await moderator.ExpectMessageAsync("alice's")).Match.GetProperty("timestamp").GetInt64();

            await eve.SendAsync(new { delete = timestamp });
            Assert.Equal("You cannot delete this message.", TestChatClient.Str((await eve.ExpectErrorAsync()).Match, "error"));
            await anonymous.SendAsync(new { delete = timestamp });
            Assert.Equal("You cannot delete this message.", TestChatClient.Str((await anonymous.ExpectErrorAsync()).Match, "error"));
            await eve.SendAsync(new { delete = 12345 });
            Assert.Equal("No such message.", TestChatClient.Str((await eve.ExpectErrorAsync()).Match, "error"));

            await moderator.SendAsync(new { delete = timestamp });
            await alice.ExpectAsync(f => f.TryGetProperty("deleted", out var d) && d.GetInt64() == timestamp);
            Assert.False(eve.Closed.IsCompleted);
        }

        var entries = await AuditAsync(room);
        Assert.Contains(entries, e => TestChatClient.Str(e, "action") == "delete" && TestChatClient.Str(e, "actor") == "mod" && TestChatClient.Str(e, "target") == $"message {timestamp}");
    }

    [Fact]
    public async Task Deleting_over_HTTP_answers_204_then_404_and_refuses_callers_without_the_right_token()
    {
        var room = NewRoom();
        var alice = await cluster.SignInAsync(room, new { name = "Alice", token = AuthCluster.Token("alice") });
        await using (alice)
        {
            await alice.SendAsync(new { message = "to delete" });
            var timestamp = (await alice.ExpectMessageAsync("to delete")).Match.GetProperty("timestamp").GetInt64();
            var path = $"/api/room/{room}/messages/{timestamp}";

            Assert.Equal(401, (await cluster.CallAsync(HttpMethod.Delete, path)).Status);
            Assert.Equal(401, (await cluster.CallAsync(HttpMethod.Delete, path, "not-a-token")).Status);
            Assert.Equal(403, (await cluster.CallAsync(HttpMethod.Delete, path, AuthCluster.Token("eve"))).Status);
            Assert.Equal(403, (await cluster.CallAsync(HttpMethod.Delete, path, AuthCluster.Token("mod", role: ChatIdentity.Roles.Moderator, rooms: ["other"]))).Status);
            Assert.Equal(204, (await cluster.CallAsync(HttpMethod.Delete, path, AuthCluster.Token("mod", role: ChatIdentity.Roles.Moderator))).Status);
            await alice.ExpectAsync(f => f.TryGetProperty("deleted", out _));
            Assert.Equal(404, (await cluster.CallAsync(HttpMethod.Delete, path, Admin)).Status);
            Assert.Equal(404, (await cluster.CallAsync(HttpMethod.Delete, $"/api/room/{room}/messages/1", Admin)).Status);
        }
    }

    [Fact]
    public async Task A_ban_by_user_and_one_by_address_close_the_sessions_on_both_gateways_within_a_second_and_refuse_the_next_join()
    {
        var room = NewRoom();
        const string address = "10.77.1.2";
        var eve = await cluster.SignInAsync(room, new { name = "Eve", token = AuthCluster.Token("eve") }, cluster.SecondGateway);
        var anon = await cluster.SignInAsync(room, new { name = "anon" }, cluster.Gateway, address);
        var anonElsewhere = await cluster.SignInAsync(room, new { name = "anon2" }, cluster.SecondGateway, address);
        var bob = await cluster.SignInAsync(room, new { name = "bob" });
        await using (eve)
        await using (anon)
        await using (anonElsewhere)
        await using (bob)
        {
            var clock = Stopwatch.StartNew();
            var (status, body) = await cluster.CallAsync(HttpMethod.Post, "/api/bans", AuthCluster.Token("mod", role: ChatIdentity.Roles.Moderator), new { user = "eve", room, reason = "spam" });
            Assert.Equal(201, status);
            Assert.True(JsonDocument.Parse(body).RootElement.GetProperty("id").GetInt64() > 0);
            Assert.Equal("You were banned from this room.", TestChatClient.Str((await eve.ExpectErrorAsync()).Match, "error"));
            Assert.Equal(WebSocketCloseStatus.PolicyViolation, await eve.WaitClosedAsync());
            var byUser = clock.Elapsed;

            clock.Restart();
            Assert.Equal(201, (await cluster.CallAsync(HttpMethod.Post, "/api/bans", Admin, new { ip = address })).Status);
            Assert.Equal(WebSocketCloseStatus.PolicyViolation, await anon.WaitClosedAsync());
            Assert.Equal(WebSocketCloseStatus.PolicyViolation, await anonElsewhere.WaitClosedAsync());
            var byAddress = clock.Elapsed;
            output.WriteLine($"ban by user: session closed on the other gateway {byUser.TotalMilliseconds:F0} ms after the call began; ban by address: both gateways' sessions closed {byAddress.TotalMilliseconds:F0} ms after");
            Assert.True(byUser < TimeSpan.FromSeconds(1) && byAddress < TimeSpan.FromSeconds(1), $"bans took {byUser.TotalMilliseconds:F0} and {byAddress.TotalMilliseconds:F0} ms");
            Assert.False(bob.Closed.IsCompleted);

            // The next joins are refused, on either gateway.
            await AssertRefusedAsync(room, new { name = "Eve", token = AuthCluster.Token("eve") }, cluster.Gateway, ClientAddresses.New());
            await AssertRefusedAsync(room, new { name = "again" }, cluster.SecondGateway, address);
        }
    }

    [Fact]
    public async Task A_mute_refuses_posts_and_keeps_the_socket_and_lifting_it_lets_the_member_post_again()
    {
        var room = NewRoom();
        var eve = await cluster.SignInAsync(room, new { name = "Eve", token = AuthCluster.Token("eve") });
        await using (eve)
        {
            var (_, body) = await cluster.CallAsync(HttpMethod.Post, "/api/bans", Admin, new { user = "eve", room, mute = true });
            var id = JsonDocument.Parse(body).RootElement.GetProperty("id").GetInt64();
            await eve.SendAsync(new { message = "can you hear me" });
            Assert.Equal("You are muted in this room.", TestChatClient.Str((await eve.ExpectErrorAsync()).Match, "error"));
            Assert.False(eve.Closed.IsCompleted);

            var (_, list) = await cluster.CallAsync(HttpMethod.Get, "/api/bans", Admin);
            Assert.Contains(JsonDocument.Parse(list).RootElement.GetProperty("bans").EnumerateArray(), b => b.GetProperty("id").GetInt64() == id && b.GetProperty("mute").GetBoolean());

            Assert.Equal(204, (await cluster.CallAsync(HttpMethod.Delete, $"/api/bans/{id}", Admin)).Status);
            Assert.Equal(404, (await cluster.CallAsync(HttpMethod.Delete, $"/api/bans/{id}", Admin)).Status);
            await eve.SendAsync(new { message = "back" });
            await eve.ExpectMessageAsync("back");
        }

        var entries = await AuditAsync(room);
        Assert.Contains(entries, e => TestChatClient.Str(e, "action") == "mute");
        Assert.Contains(entries, e => TestChatClient.Str(e, "action") == "unmute");
    }

    [Fact]
    public async Task Bans_are_refused_to_callers_without_the_right_token_and_for_malformed_targets()
    {
        var room = NewRoom();
        var moderator = AuthCluster.Token("mod", role: ChatIdentity.Roles.Moderator);
        Assert.Equal(401, (await cluster.CallAsync(HttpMethod.Post, "/api/bans", body: new { user = "eve", room })).Status);
        Assert.Equal(403, (await cluster.CallAsync(HttpMethod.Post, "/api/bans", AuthCluster.Token("eve"), new { user = "x", room })).Status);
        Assert.Equal(403, (await cluster.CallAsync(HttpMethod.Post, "/api/bans", moderator, new { user = "x" })).Status);
        Assert.Equal(400, (await cluster.CallAsync(HttpMethod.Post, "/api/bans", moderator, new { ip = "300.1.2.3", room })).Status);
        Assert.Equal(400, (await cluster.CallAsync(HttpMethod.Post, "/api/bans", moderator, new { user = "x", ip = "10.0.0.1", room })).Status);
        Assert.Equal(400, (await cluster.CallAsync(HttpMethod.Post, "/api/bans", moderator, new { user = new string('u', 65), room })).Status);
        Assert.Equal(403, (await cluster.CallAsync(HttpMethod.Get, "/api/audit", moderator)).Status);
        Assert.Equal(401, (await cluster.CallAsync(HttpMethod.Get, "/api/audit")).Status);
        Assert.Equal(400, (await cluster.CallAsync(HttpMethod.Get, "/api/audit?limit=501", Admin)).Status);
    }

    [Fact]
    public async Task A_ban_that_ends_lets_the_person_back_in()
    {
        var room = NewRoom();

        // A ban that ends two seconds from now (the API counts in minutes; the table holds the instant).
        await cluster.Postgres.ScalarAsync<long>(
            "WITH added AS (INSERT INTO chat_bans (user_id, room, mute, until, created_by) VALUES ('brief', $1, false, now() + interval '2 seconds', 'test') RETURNING id), " +
            "bumped AS (UPDATE chat_ban_version SET version = version + 1 WHERE id = 1) SELECT id FROM added",
            room);
        var token = AuthCluster.Token("brief");
        await Poll.UntilAsync(async () =>
        {
            await using var probe = await TestChatClient.ConnectAsync(cluster.Gateway.WebSocketUri(room), ClientAddresses.New());
            await probe.SendAsync(new { name = "B", token });
            var frame = await probe.NextAsync();
            return TestChatClient.Str(frame, "error") == "You were banned from this room.";
        }, TimeSpan.FromSeconds(10));

        // Once it has ended, the same token joins.
        await Poll.UntilAsync(async () =>
        {
            await using var probe = await TestChatClient.ConnectAsync(cluster.Gateway.WebSocketUri(room), ClientAddresses.New());
            await probe.SendAsync(new { name = "B", token });
            var frame = await probe.NextAsync();
            return TestChatClient.Str(frame, "joined") == "B";
        }, TimeSpan.FromSeconds(20));
    }

    [Fact]
    public async Task Bans_survive_a_restart_of_the_silo_and_the_gateway()
    {
        var room = NewRoom();
        Assert.Equal(201, (await cluster.CallAsync(HttpMethod.Post, "/api/bans", Admin, new { user = "persistent", room })).Status);
        await cluster.RestartAsync();

        await AssertRefusedAsync(room, new { name = "P", token = AuthCluster.Token("persistent") }, cluster.Gateway, ClientAddresses.New());
    }

    [Fact]
    public async Task Closing_a_room_closes_its_members_with_1000_erases_its_history_and_leaves_the_name_usable()
    {
        var room = NewRoom();
        var alice = await cluster.SignInAsync(room, new { name = "alice" });
        var bob = await cluster.SignInAsync(room, new { name = "bob" }, cluster.SecondGateway);
        await using (alice)
        await using (bob)
        {
            await alice.SendAsync(new { message = "before the close" });
            await bob.ExpectMessageAsync("before the close");

            Assert.Equal(403, (await cluster.CallAsync(HttpMethod.Delete, $"/api/room/{room}", AuthCluster.Token("mod", role: ChatIdentity.Roles.Moderator))).Status);
            Assert.Equal(204, (await cluster.CallAsync(HttpMethod.Delete, $"/api/room/{room}", Admin)).Status);
            foreach (var member in new[] { alice, bob })
            {
                Assert.Equal("This room was closed.", TestChatClient.Str((await member.ExpectErrorAsync()).Match, "error"));
                Assert.Equal(WebSocketCloseStatus.NormalClosure, await member.WaitClosedAsync());
            }
        }

        Assert.Empty(await cluster.Postgres.MessagesAsync(room));
        var carol = await cluster.SignInAsync(room, new { name = "carol" });
        await using (carol)
        {
            Assert.DoesNotContain(carol.JoinFrames, f => f.TryGetProperty("timestamp", out _));
            await carol.SendAsync(new { message = "a new room" });
            await carol.ExpectMessageAsync("a new room");
        }

        Assert.Contains(await AuditAsync(room), e => TestChatClient.Str(e, "action") == "close");
    }

    [Fact]
    public async Task A_post_as_the_service_is_stored_once_per_id_and_relayed_in_order_with_the_rest()
    {
        var room = NewRoom();
        var publisher = AuthCluster.Token("news-bot", role: ChatIdentity.Roles.Publisher, rooms: [room]);
        var alice = await cluster.SignInAsync(room, new { name = "alice" });
        await using (alice)
        {
            await alice.SendAsync(new { message = "first" });
            await alice.ExpectMessageAsync("first");

            var announcement = new { name = "News", message = "announcement", id = "news-1" };
            var (status, body) = await cluster.CallAsync(HttpMethod.Post, $"/api/room/{room}/messages", publisher, announcement);
            Assert.Equal(200, status);
            var timestamp = JsonDocument.Parse(body).RootElement.GetProperty("timestamp").GetInt64();
            var (retryStatus, retryBody) = await cluster.CallAsync(HttpMethod.Post, $"/api/room/{room}/messages", publisher, announcement, cluster.SecondGateway);
            Assert.Equal(200, retryStatus);
            Assert.Equal(timestamp, JsonDocument.Parse(retryBody).RootElement.GetProperty("timestamp").GetInt64());

            var (_, relayed) = await alice.ExpectMessageAsync("announcement");
            Assert.Equal(("News", timestamp), (TestChatClient.Str(relayed, "name"), relayed.GetProperty("timestamp").GetInt64()));
            await alice.SendAsync(new { message = "after" });
            await alice.ExpectMessageAsync("after");
            Assert.Equal(["first", "announcement", "after"], (await cluster.Postgres.MessagesAsync(room)).Select(m => m.Message));

            Assert.Equal(403, (await cluster.CallAsync(HttpMethod.Post, $"/api/room/{room}/messages", AuthCluster.Token("eve"), announcement)).Status);
            Assert.Equal(403, (await cluster.CallAsync(HttpMethod.Post, $"/api/room/other/messages", publisher, announcement)).Status);
            Assert.Equal(400, (await cluster.CallAsync(HttpMethod.Post, $"/api/room/{room}/messages", publisher, new { name = "News", message = new string('m', 257) })).Status);
        }

        Assert.Contains(await AuditAsync(room), e => TestChatClient.Str(e, "action") == "post" && TestChatClient.Str(e, "actor") == "news-bot");
    }

    private async Task AssertRefusedAsync(string room, object nameFrame, ChatGateway gateway, string address)
    {
        await using var client = await TestChatClient.ConnectAsync(gateway.WebSocketUri(room), address);
        await client.SendAsync(nameFrame);
        Assert.Equal("You were banned from this room.", TestChatClient.Str((await client.ExpectErrorAsync()).Match, "error"));
        Assert.Equal(WebSocketCloseStatus.PolicyViolation, await client.WaitClosedAsync());
    }

    /// <summary>
    /// The deleted message is in no history, resume or scrollback; the one kept is. A resume is told about
    /// the deletion (the client may still show the message from before).
    /// </summary>
    private async Task AssertGoneAsync(string room, string deleted, string kept, long deletedTimestamp)
    {
        var client = await cluster.SignInAsync(room, new { name = "later" });
        await using (client)
        {
            Assert.DoesNotContain(client.JoinFrames, f => TestChatClient.Str(f, "message") == deleted);
            Assert.Contains(client.JoinFrames, f => TestChatClient.Str(f, "message") == kept);
        }

        var resumer = await cluster.SignInAsync(room, new { name = "resumer", since = 0 });
        await using (resumer)
        {
            Assert.DoesNotContain(resumer.JoinFrames, f => TestChatClient.Str(f, "message") == deleted);
            Assert.Contains(resumer.JoinFrames, f => f.TryGetProperty("deleted", out var d) && d.GetInt64() == deletedTimestamp);
            Assert.Contains(resumer.JoinFrames, f => TestChatClient.Str(f, "message") == kept);
        }

        var (_, body) = await cluster.CallAsync(HttpMethod.Get, $"/api/room/{room}/messages");
        Assert.DoesNotContain(deleted, body);
        Assert.Contains(kept, body);
    }

    private async Task<List<JsonElement>> AuditAsync(string room)
    {
        var (status, body) = await cluster.CallAsync(HttpMethod.Get, $"/api/audit?room={room}", Admin);
        Assert.Equal(200, status);
        return [.. JsonDocument.Parse(body).RootElement.GetProperty("entries").EnumerateArray()];
    }
}
