using Xunit.Abstractions;

namespace Chat.Orleans.Tests.EndToEnd;

/// <summary>History and timestamps across restarts, and storage outages, with every part real.</summary>
public sealed class DurabilityTests(ChatCluster cluster, ITestOutputHelper output) : IClassFixture<ChatCluster>
{
    private static string NewRoom() => "dur-" + Guid.NewGuid().ToString("N")[..10];

    [Fact]
    public async Task History_and_timestamp_order_survive_a_full_restart_of_silo_and_gateway()
    {
        var room = NewRoom();
        long lastBefore;
        await using (var alice = await cluster.JoinAsync(room, "alice", ClientAddresses.New()))
        {
            await alice.SendAsync(new { message = "before the restart" });
            var (_, echo) = await alice.ExpectMessageAsync("before the restart");
            lastBefore = echo.GetProperty("timestamp").GetInt64();
        }

        await cluster.RestartAsync();

        // A row one hour in the future: the re-activated room must continue after it, which it can
        // only do if it restores its last timestamp from storage rather than from the clock.
        var future = DateTimeOffset.UtcNow.AddHours(1).ToUnixTimeMilliseconds();
        await cluster.Postgres.ScalarAsync<int>(
            "INSERT INTO chat_messages (room, timestamp_ms, name, message) VALUES ($1, $2, 'clock', 'from the future') RETURNING 1", room, future);

        await using var bob = await cluster.ConnectAsync(room, ClientAddresses.New());
        var history = await bob.JoinAsync("bob");
        Assert.Contains(history, f => TestChatClient.Str(f, "message") == "before the restart" && f.GetProperty("timestamp").GetInt64() == lastBefore);

        await bob.SendAsync(new { message = "after the restart" });
        var (_, after) = await bob.ExpectMessageAsync("after the restart");
        Assert.Equal(future + 1, after.GetProperty("timestamp").GetInt64());
    }

    [Fact]
    public async Task A_message_sent_while_the_database_is_down_gets_an_error_and_is_never_relayed()
    {
        var room = NewRoom();
        await using var sender = await cluster.JoinAsync(room, "sender", ClientAddresses.New());
        await using var listener = await cluster.JoinAsync(room, "listener", ClientAddresses.New());

        await cluster.Postgres.StopAsync();
        try
        {
            using var http = new HttpClient { BaseAddress = cluster.Gateway.HttpUri };
            Assert.Equal(System.Net.HttpStatusCode.ServiceUnavailable, (await http.GetAsync("/readyz")).StatusCode);

            await sender.SendAsync(new { message = "lost in the outage" });
            var (_, error) = await sender.ExpectErrorAsync();
            Assert.Contains("could not be stored", TestChatClient.Str(error, "error"));
        }
        finally
        {
            await cluster.Postgres.StartAsync();
        }

        // The service recovers by itself, on the same sockets.
        await sender.SendAsync(new { message = "back again" });
        var (missed, _) = await listener.ExpectMessageAsync("back again");
        await sender.ExpectMessageAsync("back again");

        Assert.DoesNotContain(missed, f => TestChatClient.Str(f, "message") == "lost in the outage");
        var stored = await cluster.Postgres.MessagesAsync(room);
        Assert.Equal(["back again"], stored.Select(m => m.Message));
    }

    [Fact]
    public async Task The_gateway_serves_before_any_silo_is_up_and_holds_joins_until_one_is()
    {
        var clusterId = "late-" + Guid.NewGuid().ToString("N")[..8];
        var gateway = await cluster.StartGatewayAsync(
            settings =>
            {
                settings["Orleans:ClusterId"] = clusterId;
                settings["Chat:Gateway:StartupJoinTimeout"] = "00:01:00";
            },
            waitForCluster: false);

        using var http = new HttpClient { BaseAddress = gateway.HttpUri };
        Assert.Equal(System.Net.HttpStatusCode.OK, (await http.GetAsync("/")).StatusCode);
        Assert.Equal(System.Net.HttpStatusCode.OK, (await http.GetAsync("/healthz")).StatusCode);
        Assert.Equal(System.Net.HttpStatusCode.ServiceUnavailable, (await http.GetAsync("/readyz")).StatusCode);

        // A client that connects while no silo is up sends its name and waits, with no error.
        await using var early = await TestChatClient.ConnectAsync(gateway.WebSocketUri("early"), ClientAddresses.New());
        await early.SendAsync(new { name = "early" });
        var clock = System.Diagnostics.Stopwatch.StartNew();
        await cluster.StartSiloAsync(settings => settings["Orleans:ClusterId"] = clusterId);
        var (beforeReady, _) = await early.ExpectAsync(TestChatClient.IsReady, TimeSpan.FromSeconds(60));
        output.WriteLine($"the held join got ready {clock.ElapsedMilliseconds} ms after the silo was asked to start");
        Assert.DoesNotContain(beforeReady, frame => frame.TryGetProperty("error", out _));
        Assert.Equal(System.Net.HttpStatusCode.OK, (await http.GetAsync("/readyz")).StatusCode);

        await early.SendAsync(new { message = "now it works" });
        await early.ExpectMessageAsync("now it works");
    }

    [Fact]
    public async Task A_join_held_past_the_start_up_bound_gets_an_error_and_1011()
    {
        var gateway = await cluster.StartGatewayAsync(
            settings =>
            {
                settings["Orleans:ClusterId"] = "nobody-" + Guid.NewGuid().ToString("N")[..8];
                settings["Chat:Gateway:StartupJoinTimeout"] = "00:00:01";
            },
            waitForCluster: false);

        await using var early = await TestChatClient.ConnectAsync(gateway.WebSocketUri("early"), ClientAddresses.New());
        var (_, error) = await early.ExpectErrorAsync();
        Assert.Contains("starting", TestChatClient.Str(error, "error"));
        Assert.Equal(System.Net.WebSockets.WebSocketCloseStatus.InternalServerError, await early.WaitClosedAsync());
    }
}
