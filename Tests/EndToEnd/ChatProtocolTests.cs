using System.Text.Json;

namespace Chat.Orleans.Tests.EndToEnd;

/// <summary>The chat socket as the protocol describes it: handshake order, roster, broadcast, history.</summary>
public sealed class ChatProtocolTests(ChatCluster cluster) : IClassFixture<ChatCluster>
{
    private static string NewRoom() => "room-" + Guid.NewGuid().ToString("N")[..10];

    [Fact]
    public async Task Join_delivers_roster_then_history_then_queued_broadcasts_then_own_joined_then_ready()
    {
        var room = NewRoom();
        await using var alice = await cluster.JoinAsync(room, "alice", ClientAddresses.New());
        await alice.SendAsync(new { message = "before bob" });
        await alice.ExpectMessageAsync("before bob");

        // Bob connects but has not named himself; a broadcast in between must be queued for him.
        await using var bob = await cluster.ConnectAsync(room, ClientAddresses.New());
        await alice.SendAsync(new { message = "while bob connects" });
        await alice.ExpectMessageAsync("while bob connects");
        await bob.SendAsync(new { name = "bob" });
        var (frames, _) = await bob.ExpectAsync(TestChatClient.IsReady);

        Assert.Equal(
            ["joined:alice", "message:before bob", "message:while bob connects", "joined:bob"],
            frames.Select(Describe));
        await alice.ExpectAsync(f => TestChatClient.Str(f, "joined") == "bob");
    }

    [Fact]
    public async Task Messages_reach_every_member_including_the_sender_with_name_and_timestamp()
    {
        var room = NewRoom();
        await using var alice = await cluster.JoinAsync(room, "alice", ClientAddresses.New());
        await using var bob = await cluster.JoinAsync(room, "bob", ClientAddresses.New());
        await using var carol = await cluster.JoinAsync(room, "carol", ClientAddresses.New());

        await bob.SendAsync(new { message = "hello all" });

        foreach (var member in new[] { alice, bob, carol })
        {
            var (_, frame) = await member.ExpectMessageAsync("hello all");
            Assert.Equal("bob", TestChatClient.Str(frame, "name"));
            var timestamp = frame.GetProperty("timestamp").GetInt64();
            Assert.InRange(timestamp, DateTimeOffset.UtcNow.AddMinutes(-1).ToUnixTimeMilliseconds(), DateTimeOffset.UtcNow.AddMinutes(1).ToUnixTimeMilliseconds());
        }
    }

    [Fact]
    public async Task Roster_lists_present_members_and_quit_is_broadcast_when_one_leaves()
    {
        var room = NewRoom();
        await using var alice = await cluster.JoinAsync(room, "alice", ClientAddresses.New());
        var bob = await cluster.JoinAsync(room, "bob", ClientAddresses.New());
        await alice.ExpectAsync(f => TestChatClient.Str(f, "joined") == "bob");

        await using var carol = await cluster.ConnectAsync(room, ClientAddresses.New());
        var roster = await carol.JoinAsync("carol");
        Assert.Equal(["joined:alice", "joined:bob", "joined:carol"], roster.Select(Describe));

        await bob.DisposeAsync();
        await alice.ExpectAsync(f => TestChatClient.Str(f, "quit") == "bob");
        await carol.ExpectAsync(f => TestChatClient.Str(f, "quit") == "bob");
    }

    [Fact]
    public async Task Reconnecting_member_gets_the_last_100_messages_oldest_first()
    {
        var room = NewRoom();
        var room_ = cluster.Client.GetGrain<IRoomGrain>(room);
        for (var i = 0; i < 130; i++)
        {
            await room_.Post("seeder", $"message {i}");
        }

        await using var reader = await cluster.ConnectAsync(room, ClientAddresses.New());
        var history = (await reader.JoinAsync("reader")).Where(f => f.TryGetProperty("message", out _)).ToList();

        Assert.Equal(Enumerable.Range(30, 100).Select(i => $"message {i}"), history.Select(f => TestChatClient.Str(f, "message")));
        var timestamps = history.Select(f => f.GetProperty("timestamp").GetInt64()).ToList();
        Assert.True(timestamps.Zip(timestamps.Skip(1)).All(pair => pair.First < pair.Second), "timestamps strictly increase");

        // After a reconnect the same history comes again, so a client that de-duplicates by
        // timestamp shows nothing twice and misses nothing.
        await reader.DisposeAsync();
        await using var again = await cluster.ConnectAsync(room, ClientAddresses.New());
        var replay = (await again.JoinAsync("reader")).Where(f => f.TryGetProperty("message", out _)).ToList();
        Assert.Equal(timestamps, replay.Select(f => f.GetProperty("timestamp").GetInt64()));
    }

    [Fact]
    public async Task Rooms_are_isolated_from_each_other()
    {
        await using var inFirst = await cluster.JoinAsync(NewRoom(), "first", ClientAddresses.New());
        await using var inSecond = await cluster.JoinAsync(NewRoom(), "second", ClientAddresses.New());

        await inFirst.SendAsync(new { message = "only for the first room" });
        await inFirst.ExpectMessageAsync("only for the first room");
        await inSecond.SendAsync(new { message = "only for the second room" });
        await inSecond.ExpectMessageAsync("only for the second room");

        Assert.DoesNotContain(inSecond.Received, f => TestChatClient.Str(f, "message") == "only for the first room");
        Assert.DoesNotContain(inFirst.Received, f => TestChatClient.Str(f, "message") == "only for the second room");
    }

    [Fact]
    public async Task Every_member_sees_the_same_messages_in_the_same_order()
    {
        var room = NewRoom();
        var members = new List<TestChatClient>();
        for (var i = 0; i < 4; i++)
        {
            members.Add(await cluster.JoinAsync(room, $"member{i}", ClientAddresses.New()));
        }

        // Concurrent senders: the room alone decides the order, and everyone must see that order.
        await Task.WhenAll(members.Select(async (member, i) =>
        {
            for (var n = 0; n < 3; n++)
            {
                await member.SendAsync(new { message = $"m{i}-{n}" });
            }
        }));

        var seen = new List<List<string?>>();
        foreach (var member in members)
        {
            var messages = new List<string?>();
            while (messages.Count < 12)
            {
                var frame = await member.NextAsync();
                if (frame.TryGetProperty("message", out _))
                {
                    messages.Add(TestChatClient.Str(frame, "message"));
                }
            }

            seen.Add(messages);
        }

        Assert.All(seen, messages => Assert.Equal(seen[0], messages));
        Assert.Equal(12, seen[0].Distinct().Count());
        foreach (var member in members)
        {
            await member.DisposeAsync();
        }
    }

    private static string Describe(JsonElement frame)
    {
        var property = frame.EnumerateObject().First();
        return property.Name == "name"
            ? "message:" + frame.GetProperty("message").GetString()
            : property.Name + ":" + property.Value;
    }
}
