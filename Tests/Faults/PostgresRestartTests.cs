using System.Diagnostics;

namespace Chat.Orleans.Tests.Faults;

/// <summary>A database restart under load, on a cluster of its own (the restart leaves stale pooled connections behind).</summary>
public sealed class PostgresRestartTests(FaultCluster cluster) : IClassFixture<FaultCluster>
{
    private static string NewRoom(string prefix) => $"{prefix}-{Guid.NewGuid():N}"[..24];

    [Fact]
    public async Task Restarting_PostgreSQL_under_load_gives_clear_errors_and_recovers_by_itself()
    {
        var rooms = Enumerable.Range(0, 3).Select(i => NewRoom($"pg{i}")).ToArray();
        var chatters = rooms.Select((room, i) => (Room: room, Chatter: new Chatter(() => cluster.Gateway.WebSocketUri(room), $"p{i}", $"10.64.0.{i + 1}", TimeSpan.FromMilliseconds(100)))).ToList();
        var clock = Stopwatch.StartNew();
        using var stop = new CancellationTokenSource();
        var running = chatters.Select(c => c.Chatter.RunAsync(clock, stop.Token)).ToList();
        await Poll.UntilAsync(() => chatters.All(c => c.Chatter.AllReceived.Count >= 5), TimeSpan.FromSeconds(30));

        await cluster.Postgres.StopAsync();
        await Poll.UntilAsync(() => chatters.All(c => !c.Chatter.Errors.IsEmpty), TimeSpan.FromSeconds(30));
        await cluster.Postgres.StartAsync();
        var restartedAt = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        await Poll.UntilAsync(() => chatters.All(c => c.Chatter.AllReceived.Any(m => m.Timestamp > restartedAt)), TimeSpan.FromSeconds(60));
        await stop.CancelAsync();
        await Task.WhenAll(running);

        foreach (var (room, chatter) in chatters)
        {
            Assert.All(chatter.Errors, error => Assert.Contains("could not be stored", error));
            var stored = (await cluster.Postgres.MessagesAsync(room)).ToHashSet();
            Assert.All(chatter.AllReceived, m => Assert.Contains((m.Timestamp, m.Name, m.Message), stored));
        }
    }
}
