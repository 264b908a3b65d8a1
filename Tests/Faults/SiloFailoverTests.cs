using System.Diagnostics;
using Orleans.Runtime;
using Xunit.Abstractions;

namespace Chat.Orleans.Tests.Faults;

/// <summary>Two silo processes on ADO.NET clustering, two gateways, one PostgreSQL.</summary>
public sealed class TwoSiloCluster : ChatCluster
{
    public List<SiloProcess> Silos { get; } = [];

    public ChatGateway SecondGateway { get; private set; } = null!;

    public override async Task InitializeAsync()
    {
        Postgres = await PostgresServer.StartNewAsync();
        Silos.Add(StartSiloProcess());
        Silos.Add(StartSiloProcess());
        Gateway = await StartGatewayAsync();
        SecondGateway = await StartGatewayAsync();
    }

    protected override void ConfigureGateway(IDictionary<string, string?> settings)
    {
        // These tests are about failover, not the limiter.
        settings["Chat:Gateway:RateLimitEnabled"] = "false";
        settings["Chat:Gateway:SubscriptionRenewal"] = "00:00:01";
    }
}

public sealed class SiloFailoverTests(TwoSiloCluster cluster, ITestOutputHelper output) : IClassFixture<TwoSiloCluster>
{
    private const int Rooms = 4;
    private const int Kills = 3;

    [Fact]
    public async Task Killing_silos_one_after_another_loses_no_relayed_message_and_every_room_resumes()
    {
        var clock = Stopwatch.StartNew();
        using var stop = new CancellationTokenSource();
        var rooms = Enumerable.Range(0, Rooms).Select(i => $"failover-{i}-{Guid.NewGuid():N}"[..24]).ToArray();
        var chatters = new List<(string Room, Chatter Chatter)>();
        for (var i = 0; i < Rooms; i++)
        {
            var room = rooms[i];
            chatters.Add((room, new Chatter(() => cluster.Gateway.WebSocketUri(room), $"a{i}", $"10.50.{i}.1", TimeSpan.FromMilliseconds(100))));
            chatters.Add((room, new Chatter(() => cluster.SecondGateway.WebSocketUri(room), $"b{i}", $"10.50.{i}.2", TimeSpan.FromMilliseconds(100))));
        }

        await WaitForActiveSilosAsync(2);
        var running = chatters.Select(c => c.Chatter.RunAsync(clock, stop.Token)).ToList();

        // Several kills, one after another: each time the oldest silo dies while every room chats
        // through both gateways, and a new silo takes its place before the next kill.
        var failovers = new List<double>();
        for (var kill = 0; kill < Kills; kill++)
        {
            var before = chatters.Select(c => c.Chatter.AllReceived.Count).ToArray();
            await Poll.UntilAsync(() => chatters.Select((c, i) => c.Chatter.AllReceived.Count - before[i]).All(n => n >= 10), TimeSpan.FromSeconds(30));
            await cluster.Silos[kill].KillAsync();

            // Measured from the moment the process is gone: a message with a later timestamp was
            // stored and relayed by a room living on a surviving silo.
            var killedAt = clock.Elapsed;
            var killedAtWallClock = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();

            // Chat resumes in every room, on both gateways: each member receives a message stored after the kill.
            try
            {
                await Poll.UntilAsync(() => chatters.All(c => c.Chatter.AllReceived.Any(m => m.Timestamp > killedAtWallClock + 1000)), TimeSpan.FromSeconds(60));
            }
            catch (TimeoutException)
            {
                foreach (var silo in cluster.Silos)
                {
                    output.WriteLine($"silo (exited: {silo.HasExited}):{Environment.NewLine}{silo.Output}");
                }

                foreach (var (room, chatter) in chatters)
                {
                    output.WriteLine($"{chatter.Name} errors: {string.Join(" | ", chatter.Errors.Distinct())}");
                    var last = chatter.AllReceived.LastOrDefault();
                    output.WriteLine($"{chatter.Name} in {room}: last message {last.Timestamp - killedAtWallClock} ms after the kill ({last.Name}), reconnects {chatter.Reconnects}, errors {chatter.Errors.Count}");
                }

                throw;
            }

            var slowest = rooms.Max(room => chatters
                .Where(c => c.Room == room)
                .SelectMany(c => c.Chatter.AllReceived)
                .Where(m => m.Timestamp > killedAtWallClock)
                .Min(m => m.At) - killedAt);
            failovers.Add(slowest.TotalMilliseconds);
            output.WriteLine($"kill {kill + 1}: slowest room resumed {slowest.TotalMilliseconds:F0} ms after the kill");

            cluster.Silos.Add(cluster.StartSiloProcess());
            await WaitForActiveSilosAsync(2);
        }

        await stop.CancelAsync();
        await Task.WhenAll(running);
        failovers.Sort();
        output.WriteLine($"failover over {Kills} kills: median {failovers[Kills / 2]:F0} ms, worst {failovers[^1]:F0} ms");

        foreach (var room in rooms)
        {
            var inRoom = chatters.Where(c => c.Room == room).Select(c => c.Chatter).ToList();
            var stored = await cluster.Postgres.MessagesAsync(room);
            var storedSet = stored.ToHashSet();

            // Exactly once: no message text stored twice (retries must not duplicate).
            Assert.Equal(stored.Count, stored.Select(m => m.Message).Distinct().Count());
            foreach (var chatter in inRoom)
            {
                foreach (var connection in chatter.Connections)
                {
                    List<(long Timestamp, string Name, string Message, TimeSpan At)> messages;
                    lock (connection)
                    {
                        messages = [.. connection];
                    }

                    // In order, each once, and every one of them stored.
                    Assert.True(messages.Zip(messages.Skip(1)).All(p => p.First.Timestamp < p.Second.Timestamp), $"{chatter.Name}: out of order or doubled");
                    Assert.All(messages, m => Assert.Contains((m.Timestamp, m.Name, m.Message), storedSet));
                }
            }

            output.WriteLine($"{room}: {stored.Count} stored; reconnects {string.Join(", ", inRoom.Select(c => $"{c.Name}={c.Reconnects}"))}");
        }
    }

    private async Task WaitForActiveSilosAsync(int count)
    {
        var management = cluster.Client.GetGrain<IManagementGrain>(0);
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        using var tick = new PeriodicTimer(TimeSpan.FromMilliseconds(100));
        while (true)
        {
            try
            {
                if ((await management.GetHosts(onlyActive: true)).Count >= count)
                {
                    return;
                }
            }
            catch (OrleansException)
            {
                // The management grain may itself be moving off the dead silo; ask again.
            }

            if (!await tick.WaitForNextTickAsync(deadline.Token).AsTask().ContinueWith(t => t.IsCompletedSuccessfully))
            {
                foreach (var silo in cluster.Silos)
                {
                    output.WriteLine($"silo (exited: {silo.HasExited}):{Environment.NewLine}{silo.Output}");
                }

                throw new TimeoutException($"Fewer than {count} active silos after 60 s");
            }
        }
    }
}
