using System.Diagnostics;
using Xunit.Abstractions;

namespace Chat.Orleans.Tests.Faults;

public sealed class SiloFailoverTests(TwoSiloCluster cluster, ITestOutputHelper output) : IClassFixture<TwoSiloCluster>
{
    private const int Rooms = 4;

    [Fact]
    public async Task Killing_a_silo_loses_no_relayed_message_and_every_room_resumes()
    {
        var clock = Stopwatch.StartNew();
        var startedUtc = DateTime.UtcNow;
        using var stop = new CancellationTokenSource();
        var rooms = Enumerable.Range(0, Rooms).Select(i => $"failover-{i}-{Guid.NewGuid():N}"[..24]).ToArray();
        var chatters = new List<(string Room, Chatter Chatter)>();
        for (var i = 0; i < Rooms; i++)
        {
            var room = rooms[i];
            chatters.Add((room, new Chatter(() => cluster.Gateway.WebSocketUri(room), $"a{i}", $"10.50.{i}.1", TimeSpan.FromMilliseconds(100))));
            chatters.Add((room, new Chatter(() => cluster.SecondGateway.WebSocketUri(room), $"b{i}", $"10.50.{i}.2", TimeSpan.FromMilliseconds(100))));
        }

        await cluster.EnsureActiveSilosAsync(2);
        var running = chatters.Select(c => c.Chatter.RunAsync(clock, stop.Token)).ToList();

        // Traffic flows in every room through both gateways before the kill.
        await Poll.UntilAsync(() => chatters.All(c => c.Chatter.AllReceived.Count >= 10), TimeSpan.FromSeconds(30));
        await cluster.Silos[0].KillAsync();

        // Measured from the moment the process is gone: any message with a later timestamp was
        // stored and relayed by a room re-activated on the surviving silo (or never on the dead one).
        var killedAt = clock.Elapsed;
        var killedAtWallClock = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();

        // Chat resumes in every room, on both gateways: each member receives a message stored after the kill.
        await Poll.UntilAsync(() => chatters.All(c => c.Chatter.AllReceived.Any(m => m.Timestamp > killedAtWallClock + 1000)), TimeSpan.FromSeconds(60));
        await stop.CancelAsync();
        await Task.WhenAll(running);

        var recoveries = new List<double>();
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
                    var wrong = Enumerable.Range(1, Math.Max(0, messages.Count - 1)).FirstOrDefault(i => messages[i].Timestamp <= messages[i - 1].Timestamp, -1);
                    if (wrong > 0)
                    {
                        ReportOrder(room, chatter, messages, wrong, startedUtc, killedAt);
                    }

                    Assert.True(wrong < 0, $"{chatter.Name}: out of order or doubled");
                    Assert.All(messages, m => Assert.Contains((m.Timestamp, m.Name, m.Message), storedSet));
                }
            }

            var resumed = inRoom.SelectMany(c => c.AllReceived).Where(m => m.Timestamp > killedAtWallClock).Min(m => m.At) - killedAt;
            recoveries.Add(resumed.TotalMilliseconds);
            output.WriteLine($"{room}: first message relayed {resumed.TotalMilliseconds:F0} ms after the kill; {stored.Count} stored; reconnects {string.Join(", ", inRoom.Select(c => $"{c.Name}={c.Reconnects}"))}");
        }

        // Rooms on the surviving silo recover at once; the slowest is the one that had to move.
        output.WriteLine($"failover: slowest room resumed {recoveries.Max():F0} ms after the kill");
    }

    /// <summary>
    /// Everything needed to tell from the test's output alone why a member saw a message out of order or
    /// twice: the messages around it with their arrival times, and what its room's gateways and silos logged.
    /// </summary>
    private void ReportOrder(string room, Chatter chatter, List<(long Timestamp, string Name, string Message, TimeSpan At)> messages, int wrong, DateTime startedUtc, TimeSpan killedAt)
    {
        output.WriteLine($"{chatter.Name} in room {room} ({chatter.Reconnects} reconnects): message {wrong} of {messages.Count} on its connection is not newer than the one before; the kill was at {startedUtc + killedAt:HH:mm:ss.fff} UTC");
        for (var i = Math.Max(0, wrong - 5); i < Math.Min(messages.Count, wrong + 5); i++)
        {
            var m = messages[i];
            output.WriteLine($"    {startedUtc + m.At:HH:mm:ss.fff} {(i == wrong ? ">" : " ")} {m.Timestamp} {m.Name}: {m.Message}");
        }

        output.WriteLine($"  what the gateways and silos logged about room {room}:");
        output.WriteLine(cluster.Report(room));
    }
}
