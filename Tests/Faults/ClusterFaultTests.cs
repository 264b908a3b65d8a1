using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Runtime;
using Xunit.Abstractions;

namespace Chat.Orleans.Tests.Faults;

/// <summary>One silo and one gateway to start with; each test adds the processes it breaks.</summary>
public sealed class FaultCluster : ChatCluster
{
    protected override void ConfigureSilo(IDictionary<string, string?> settings) =>
        // A dead gateway's members quit after this.
        settings["Chat:Room:SubscriptionLease"] = "00:00:03";

    protected override void ConfigureGateway(IDictionary<string, string?> settings)
    {
        settings["Chat:Gateway:SubscriptionRenewal"] = "00:00:01";
        settings["Chat:Gateway:RateLimitEnabled"] = "false";
    }
}

public sealed class ClusterFaultTests(FaultCluster cluster, ITestOutputHelper output) : IClassFixture<FaultCluster>
{
    private static string NewRoom(string prefix) => $"{prefix}-{Guid.NewGuid():N}"[..24];

    [Fact]
    public async Task Clients_on_two_gateways_see_each_others_messages_once_and_in_the_same_order()
    {
        var room = NewRoom("two");
        var other = await cluster.StartGatewayAsync();
        await using var alice = await cluster.JoinAsync(room, "alice", "10.60.0.1");
        await using var bob = await TestChatClient.ConnectAsync(other.WebSocketUri(room), "10.60.0.2");
        await bob.JoinAsync("bob");

        for (var i = 0; i < 3; i++)
        {
            await alice.SendAsync(new { message = $"alice {i}" });
            await bob.SendAsync(new { message = $"bob {i}" });
        }

        var seen = new List<List<string?>>();
        foreach (var client in new[] { alice, bob })
        {
            var messages = new List<string?>();
            while (messages.Count < 6)
            {
                var frame = await client.NextAsync();
                if (frame.TryGetProperty("timestamp", out _))
                {
                    messages.Add(TestChatClient.Str(frame, "message"));
                }
            }

            seen.Add(messages);
        }

        Assert.Equal(6, seen[0].Distinct().Count());
        Assert.Equal(seen[0], seen[1]);
    }

    [Fact]
    public async Task Killing_a_gateway_lets_its_clients_continue_through_another_and_its_members_quit()
    {
        var room = NewRoom("gwkill");
        var victim = await cluster.StartGatewayProcessAsync();
        await using var bob = await cluster.JoinAsync(room, "bob", "10.61.0.1");
        var alice = await TestChatClient.ConnectAsync(victim.WebSocketUri(room), "10.61.0.2");
        await alice.JoinAsync("alice");
        await alice.SendAsync(new { message = "before the crash" });
        await bob.ExpectMessageAsync("before the crash");

        await victim.KillAsync();
        Assert.Null(await alice.WaitClosedAsync());

        // The room notices the gateway's silence within its lease and says goodbye for it.
        await bob.ExpectAsync(f => TestChatClient.Str(f, "quit") == "alice", TimeSpan.FromSeconds(15));

        // Alice comes back through the surviving gateway, to the same room and history.
        await using var returning = await cluster.ConnectAsync(room, "10.61.0.2");
        var frames = await returning.JoinAsync("alice");
        Assert.Contains(frames, f => TestChatClient.Str(f, "message") == "before the crash");
        Assert.Equal(["bob", "alice"], frames.Select(f => TestChatClient.Str(f, "joined")).Where(n => n is not null));
        await returning.SendAsync(new { message = "after the crash" });
        await bob.ExpectMessageAsync("after the crash");
        await alice.DisposeAsync();
    }

    [Fact]
    public async Task Stopping_a_silo_gracefully_under_load_shows_no_error_and_loses_nothing()
    {
        var extra = await cluster.StartSiloAsync();
        var rooms = Enumerable.Range(0, 6).Select(i => NewRoom($"grace{i}")).ToArray();
        var chatters = rooms.Select((room, i) => (Room: room, Chatter: new Chatter(() => cluster.Gateway.WebSocketUri(room), $"c{i}", $"10.62.0.{i + 1}", TimeSpan.FromMilliseconds(100)))).ToList();
        var clock = Stopwatch.StartNew();
        using var stop = new CancellationTokenSource();
        var running = chatters.Select(c => c.Chatter.RunAsync(clock, stop.Token)).ToList();
        await Poll.UntilAsync(() => chatters.All(c => c.Chatter.AllReceived.Count >= 5), TimeSpan.FromSeconds(30));

        await extra.StopAsync();
        var stoppedAt = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        await Poll.UntilAsync(() => chatters.All(c => c.Chatter.AllReceived.Any(m => m.Timestamp > stoppedAt + 500)), TimeSpan.FromSeconds(60));
        await stop.CancelAsync();
        await Task.WhenAll(running);

        foreach (var (room, chatter) in chatters)
        {
            Assert.Empty(chatter.Errors);
            var stored = (await cluster.Postgres.MessagesAsync(room)).ToHashSet();
            Assert.All(chatter.AllReceived, m => Assert.Contains((m.Timestamp, m.Name, m.Message), stored));
        }

        output.WriteLine($"graceful stop: reconnects {string.Join(", ", chatters.Select(c => c.Chatter.Reconnects))}");
    }

    [Fact]
    public async Task A_silo_serves_health_metrics_and_on_request_the_Orleans_dashboard()
    {
        var silo = await cluster.StartSiloAsync(settings => settings["Chat:Silo:Dashboard"] = "true");
        using var http = new HttpClient { BaseAddress = silo.HttpUri };

        Assert.Equal(System.Net.HttpStatusCode.OK, (await http.GetAsync("/readyz")).StatusCode);
        Assert.Contains("orleans_", await http.GetStringAsync("/metrics"));
        Assert.Equal(System.Net.HttpStatusCode.OK, (await http.GetAsync("/dashboard")).StatusCode);
        Assert.Equal(System.Net.HttpStatusCode.NotFound, (await new HttpClient { BaseAddress = cluster.Silo.HttpUri }.GetAsync("/dashboard")).StatusCode);
        await silo.StopAsync();
    }

    [Fact]
    public async Task A_silo_added_to_a_running_cluster_takes_new_rooms()
    {
        var added = await cluster.StartSiloAsync();
        var management = cluster.Client.GetGrain<IManagementGrain>(0);
        var clients = new List<TestChatClient>();
        var rooms = new HashSet<string>();
        Dictionary<SiloAddress, int> perSilo = [];

        // Placement learns the new silo's load within a second or so; new rooms must then go to it.
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (perSilo.Count < 2 || perSilo.Values.Min() < 10)
        {
            deadline.Token.ThrowIfCancellationRequested();
            for (var i = 0; i < 10; i++)
            {
                var room = NewRoom("spread");
                rooms.Add(room);
                clients.Add(await cluster.JoinAsync(room, "member", $"10.63.{rooms.Count / 200}.{rooms.Count % 200 + 1}"));
            }

            perSilo = (await management.GetDetailedGrainStatistics())
                .Where(s => rooms.Contains(s.GrainId.Key.ToString()!))
                .GroupBy(s => s.SiloAddress)
                .ToDictionary(g => g.Key, g => g.Count());
        }

        output.WriteLine($"{rooms.Count} new rooms per silo: " + string.Join(", ", perSilo.Select(p => $"{p.Key}={p.Value}")));
        Assert.Contains(added.Services.GetRequiredService<ILocalSiloDetails>().SiloAddress, perSilo.Keys);
        foreach (var client in clients)
        {
            await client.DisposeAsync();
        }

        await added.StopAsync();
    }
}
