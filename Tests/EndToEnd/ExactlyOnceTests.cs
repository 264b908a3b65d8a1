using System.Text.Json;

namespace Chat.Orleans.Tests.EndToEnd;

/// <summary>
/// PROTOCOL.md, "Exactly-once posts": a message sent with an <c>id</c> is relayed with it, and a resend
/// of the same id (after a reconnect, after a restart) is neither stored nor shown again. A client that
/// sends no ids sees no difference.
/// </summary>
public sealed class ExactlyOnceTests(ChatCluster cluster) : IClassFixture<ChatCluster>
{
    [Fact]
    public async Task A_message_with_an_id_is_relayed_with_it_and_a_resend_after_a_reconnect_is_shown_and_stored_once()
    {
        var room = NewRoom();
        await using var bob = await cluster.JoinAsync(room, "bob", ClientAddresses.New());
        var aliceAddress = ClientAddresses.New();
        await using (var alice = await cluster.JoinAsync(room, "alice", aliceAddress))
        {
            await alice.SendAsync(new { message = "hello", id = "m-1" });
            var (_, echo) = await alice.ExpectMessageAsync("hello");
            var (_, relayed) = await bob.ExpectMessageAsync("hello");
            Assert.Equal("m-1", TestChatClient.Str(echo, "id"));
            Assert.Equal("m-1", TestChatClient.Str(relayed, "id"));
        }

        // The socket dropped before alice saw her echo, say: she sends it again with the same id.
        await using var again = await cluster.JoinAsync(room, "alice", aliceAddress);
        await again.SendAsync(new { message = "hello", id = "m-1" });
        await again.SendAsync(new { message = "marker", id = "m-2" });
        var (beforeMarker, _) = await bob.ExpectMessageAsync("marker");
        Assert.DoesNotContain(beforeMarker, IsMessage("hello"));

        Assert.Equal(["hello", "marker"], (await cluster.Postgres.MessagesAsync(room)).Select(m => m.Message));
    }

    [Fact]
    public async Task An_id_stays_used_across_a_restart_and_history_carries_it()
    {
        var room = NewRoom();
        await using (var alice = await cluster.JoinAsync(room, "alice", ClientAddresses.New()))
        {
            await alice.SendAsync(new { message = "before the restart", id = "r-1" });
            await alice.ExpectMessageAsync("before the restart");
        }

        await cluster.RestartAsync();

        await using var carol = await TestChatClient.ConnectAsync(cluster.Gateway.WebSocketUri(room), ClientAddresses.New());
        var history = await carol.JoinAsync("carol");
        Assert.Contains(history, frame => TestChatClient.Str(frame, "message") == "before the restart" && TestChatClient.Str(frame, "id") == "r-1");

        await carol.SendAsync(new { message = "before the restart", id = "r-1" });
        await carol.SendAsync(new { message = "after", id = "r-2" });
        var (beforeAfter, _) = await carol.ExpectMessageAsync("after");
        Assert.DoesNotContain(beforeAfter, IsMessage("before the restart"));
        Assert.Equal(["before the restart", "after"], (await cluster.Postgres.MessagesAsync(room)).Select(m => m.Message));
    }

    [Fact]
    public async Task A_malformed_id_gets_an_error_and_the_message_is_not_relayed()
    {
        var room = NewRoom();
        await using var bob = await cluster.JoinAsync(room, "bob", ClientAddresses.New());
        await using var alice = await cluster.JoinAsync(room, "alice", ClientAddresses.New());

        await alice.SendAsync(new { message = "refused", id = "not a valid id" });
        var (_, error) = await alice.ExpectErrorAsync();
        Assert.Contains("id", TestChatClient.Str(error, "error"));

        await alice.SendAsync(new { message = "fine" });
        var (beforeFine, _) = await bob.ExpectMessageAsync("fine");
        Assert.DoesNotContain(beforeFine, IsMessage("refused"));
    }

    [Fact]
    public async Task Messages_sent_without_ids_carry_none_and_the_same_text_twice_is_two_messages()
    {
        var room = NewRoom();
        await using var bob = await cluster.JoinAsync(room, "bob", ClientAddresses.New());
        await using var alice = await cluster.JoinAsync(room, "alice", ClientAddresses.New());

        await alice.SendAsync(new { message = "same" });
        await alice.SendAsync(new { message = "same" });
        var (_, first) = await bob.ExpectMessageAsync("same");
        var (_, second) = await bob.ExpectMessageAsync("same");

        // Exactly the original's frame: name, message, timestamp, nothing else.
        Assert.Equal(["name", "message", "timestamp"], first.EnumerateObject().Select(p => p.Name));
        Assert.True(second.GetProperty("timestamp").GetInt64() > first.GetProperty("timestamp").GetInt64());
        Assert.Equal(["same", "same"], (await cluster.Postgres.MessagesAsync(room)).Select(m => m.Message));
    }

    private static Predicate<JsonElement> IsMessage(string text) => frame => TestChatClient.Str(frame, "message") == text;

    private static string NewRoom() => "once-" + Guid.NewGuid().ToString("N")[..24];
}
