using System.Globalization;
using System.Text.Json;
using Chat.Orleans.Bench.Load;

namespace Chat.Orleans.Bench.Suite;

/// <summary>
/// How one row of a scenario's table is measured against one target: a send phase (latency, losses,
/// CPU, and for the chat the messages stored), a round of joins, or a set of idle joined sockets.
/// </summary>
public sealed class Measurements(Repository repository, ChatTarget chat, ResultLog log)
{
    private const double WarmUpSeconds = 3;

    // Idle sockets still say something now and then: one message per socket per 50 s.
    private const double IdleRate = 0.02;

    // In every room name: the database outlives a run (--data), and a room an earlier run left
    // messages in would hand its history to this run's joins.
    private readonly string _run = DateTime.UtcNow.ToString("HHmmss", CultureInfo.InvariantCulture);
    private bool _siloMeasured;

    /// <summary>Joins rooms × members sockets to the target, in rooms named after the scenario's code.</summary>
    public Task<LoadRun> StartRunAsync(IBenchTarget target, string code, int rooms, int members, int servers = 0) =>
        LoadRun.StartAsync(repository, target, Prefix(code, target), rooms, members, servers: servers);

    /// <summary>One send phase on freshly joined sockets, which leave again afterwards.</summary>
    public async Task<Row> MeasureAsync(IBenchTarget target, string code, int rooms, int members, double rate, double seconds, bool warmUp = true)
    {
        await using var run = await StartRunAsync(target, code, rooms, members);
        var row = await PhaseAsync(target, run, rooms, members, rate, seconds, warmUp);
        row["connect_s"] = run.Joined.Seconds;
        return row;
    }

    /// <summary>One send phase on sockets already joined: each sends <paramref name="rate"/> msg/s for <paramref name="seconds"/>.</summary>
    public async Task<Row> PhaseAsync(IBenchTarget target, LoadRun run, int rooms, int members, double rate, double seconds, bool warmUp = true)
    {
        if (warmUp)
        {
            // Unmeasured: a fresh process runs unoptimized (tier-0) code at first, and under a sudden
            // 100k deliveries/s it fell seconds behind before the JIT caught up (BENCHMARKS.md).
            // Half the rate, so the warm-up does not leave a backlog for the measured phase.
            await run.SendAsync(rate / 2, WarmUpSeconds, []);
        }

        var stored = target == chat ? await StoreCountersAsync() : default;
        var phase = await run.SendAsync(rate, seconds, []);
        var deliveries = phase.Delivered / seconds;
        var row = new Row
        {
            ["target"] = target.Name,
            ["rooms"] = rooms,
            ["members"] = members,
            ["joined"] = run.Joined.Connected,
            ["rate"] = rate,
            ["offered_msg_s"] = phase.Sent / seconds,
            ["deliveries_s"] = deliveries,
            ["p50_ms"] = phase.Latency.PercentileMilliseconds(50),
            ["p99_ms"] = phase.Latency.PercentileMilliseconds(99),
            ["p999_ms"] = phase.Latency.PercentileMilliseconds(99.9),
            ["max_ms"] = phase.Latency.MaxMicroseconds / 1000.0,
            ["delivered"] = phase.Delivered,
            ["lost"] = phase.Lost,
            ["dup"] = phase.Duplicates,
            ["misordered"] = phase.OutOfOrder,
            ["rejected"] = phase.Rejected,
            ["skipped"] = phase.Skipped,
            ["closed"] = phase.Closed,
            ["rooms_over_100ms"] = phase.SlowRooms,
            ["cpu"] = phase.CpuPercent,
            ["server_cpu_us_per_delivery"] = ServerCpuSeconds(phase) * 1e6 / Math.Max(1, phase.Delivered),
        };
        if (target == chat)
        {
            var after = await StoreCountersAsync();
            var messages = after.Messages - stored.Messages;
            row["stored_s"] = messages / seconds;
            row["round_trips_per_msg"] = messages == 0 ? 0 : (after.RoundTrips - stored.RoundTrips) / messages;
        }

        if (run.Joined.Failed + run.Joined.Refused > 0 || phase.FirstError is not null)
        {
            row["first_error"] = phase.FirstError ?? run.Joined.FirstError;
        }

        return row;
    }

    /// <summary>Joins to rooms holding <paramref name="history"/> messages each, timed from the name sent to ready received.</summary>
    public async Task<Row> JoinRowAsync(IBenchTarget target, int rooms, bool cold, int history = 10)
    {
        await target.EnsureServersAsync(1);
        var plan = new LoadPlan("join", target.Endpoints[0], "127.0.0.1", Prefix(cold ? "jc" : "jw", target), 0, rooms, 2, ConnectConcurrency: 8, HistoryMessages: history, Cold: cold);
        await using var worker = BenchProcess.Start("join", repository.Program("Bench"), ["load", JsonSerializer.Serialize(plan, BenchJson.Options)], new Dictionary<string, string>(), repository.Project("Bench"));
        var result = Aggregate.Of([await LoadRun.ReadReportAsync(worker, TimeSpan.FromMinutes(3))]);
        await target.SettleAsync();
        return new Row
        {
            ["target"] = target.Name,
            ["cold"] = cold,
            ["history"] = target == chat ? history : 0,
            ["joined"] = result.Connected,
            ["failed"] = result.Failed,
            ["history_short"] = target == chat ? result.HistoryShort : 0L,
            ["p50_ms"] = result.Latency.PercentileMilliseconds(50),
            ["p99_ms"] = result.Latency.PercentileMilliseconds(99),
            ["max_ms"] = result.Latency.MaxMicroseconds / 1000.0,
        };
    }

    /// <summary>Idle joined sockets in rooms of 10 on fresh server processes: what they cost in memory, and that they still work.</summary>
    public async Task<Row> IdleSocketsAsync(IBenchTarget target, string code, int rooms, int servers)
    {
        // Fresh server processes, so their memory growth is these sockets' alone.
        var firstServer = target.Endpoints.Count;
        await target.EnsureServersAsync(firstServer + servers);
        var serverProcesses = target.Processes.Where(process => process.Role is "gateway" or "floor").Skip(firstServer).ToArray();
        var silo = target.Processes.FirstOrDefault(process => process.Role == "silo");
        var before = serverProcesses.Sum(process => process.ResidentBytes());
        var siloBefore = silo?.ResidentBytes() ?? 0;
        await using var run = await LoadRun.StartAsync(repository, target, Prefix(code, target), rooms, members: 10, firstServer, servers, connectConcurrency: 100);
        var joined = run.Joined;
        var row = new Row
        {
            ["target"] = target.Name,
            ["servers"] = servers,
            ["rooms"] = rooms,
            ["joined"] = joined.Connected,
            ["refused"] = joined.Refused,
            ["failed"] = joined.Failed,
            ["connect_s"] = joined.Seconds,
            ["connects_s"] = joined.Connected / Math.Max(joined.Seconds, 0.001),
            ["join_p99_ms"] = joined.Latency.PercentileMilliseconds(99),
            ["gateway_bytes_per_socket"] = (double)(serverProcesses.Sum(process => process.ResidentBytes()) - before) / Math.Max(1, joined.Connected),
        };
        if (silo is not null && !_siloMeasured)
        {
            // Only the first time: a silo that held sockets before reuses that memory.
            _siloMeasured = true;
            var siloGrowth = (double)(silo.ResidentBytes() - siloBefore);
            row["silo_bytes_per_socket"] = siloGrowth / Math.Max(1, joined.Connected);
            row["silo_bytes_per_room"] = siloGrowth / rooms;
        }

        var phase = await run.SendAsync(IdleRate, 5, []);
        row["lost"] = phase.Lost;
        row["closed"] = phase.Closed;
        row["p99_ms"] = phase.Latency.PercentileMilliseconds(99);
        if (joined.FirstError is { } error)
        {
            row["first_error"] = error;
            if (target == chat)
            {
                File.WriteAllText(Path.Combine(log.Directory, $"warnings-{code}.txt"), chat.Warnings);
            }
        }

        return row;
    }

    private static double ServerCpuSeconds(Aggregate phase) =>
        phase.CpuPercent.Where(entry => entry.Key != "generator").Sum(entry => entry.Value) / 100 * phase.Seconds;

    private async Task<(double Messages, double RoundTrips)> StoreCountersAsync() =>
        (await Ports.ScrapeAsync(chat.SiloMetrics, "chat_messages_stored_total"), await Ports.ScrapeAsync(chat.SiloMetrics, "chat_store_batch_size_count"));

    private string Prefix(string code, IBenchTarget target) => $"{code}{_run}{target.Name[0]}-";
}
