using System.Diagnostics;
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
    // The failover scenario's first phase, which lets the rooms settle on the two silos before one is killed.
    private const double PlacementSeconds = 3;

    // Idle sockets still say something now and then: one message per socket per 50 s.
    private const double IdleRate = 0.02;

    // In every room name: the database outlives a run (--data), and a room an earlier run left
    // messages in would hand its history to this run's joins.
    private readonly string _run = DateTime.UtcNow.ToString("HHmmss", CultureInfo.InvariantCulture);
    private bool _siloMeasured;

    /// <summary>Joins rooms × members sockets to the target, in rooms named after the scenario's code.</summary>
    public Task<LoadRun> StartRunAsync(IBenchTarget target, string code, int rooms, int members, int servers = 0, bool verified = false, bool rich = false) =>
        LoadRun.StartAsync(repository, target, Prefix(code, target), rooms, members, servers: servers, signingKey: verified ? ChatTarget.SigningKey : null, rich: rich);

    /// <summary>One send phase on freshly joined sockets, which leave again afterwards.</summary>
    /// <param name="verified">Every client signs in with a token (the chat only).</param>
    /// <param name="rich">Every client has every capability, and a tenth of its frames are typing or reactions (the chat only).</param>
    public async Task<Row> MeasureAsync(IBenchTarget target, string code, int rooms, int members, double rate, double seconds, bool verified = false, bool rich = false)
    {
        await using var run = await StartRunAsync(target, code, rooms, members, verified: verified, rich: rich);
        var idle = SocketServerBytes(target);
        var row = await PhaseAsync(target, run, rooms, members, rate, seconds);
        row["connect_s"] = run.Joined.Seconds;

        // What the socket servers hold for the same joined sockets before and after the load: memory the
        // load left behind (heap growth the GC keeps, pooled buffers) shows as the difference.
        row["server_rss_idle_mb"] = idle / 1e6;
        row["server_rss_after_mb"] = SocketServerBytes(target) / 1e6;
        return row;
    }

    /// <summary>Resident memory of the processes holding the sockets: the gateways, or the floor.</summary>
    private static long SocketServerBytes(IBenchTarget target) =>
        target.Processes.Where(process => process.Role is "gateway" or "floor").Sum(process => process.ResidentBytes());

    /// <summary>
    /// One send phase on sockets already joined: each sends <paramref name="rate"/> msg/s for <paramref name="seconds"/>.
    /// No warm-up: the chat's processes compile their code fully optimized from the first call (quick JIT
    /// off, see BENCHMARKS.md), so a fresh process is measured as it is.
    /// </summary>
    public async Task<Row> PhaseAsync(IBenchTarget target, LoadRun run, int rooms, int members, double rate, double seconds)
    {
        var stored = target == chat ? await StoreCountersAsync() : default;
        var phase = await run.SendAsync(rate, seconds, []);
        var row = PhaseRow(target, run, phase, rooms, members, rate, seconds);
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

    /// <summary>
    /// A send phase on a cluster of two silos, one of which is killed (SIGKILL) <paramref name="killAfter"/>
    /// into it: what the members lost, the latency of the deliveries in the <paramref name="window"/> after
    /// the kill, and how long each room took to come back. The other silo runs the chat alone afterwards.
    /// </summary>
    public async Task<Row> FailoverAsync(int rooms, int members, double rate, double seconds, TimeSpan killAfter, TimeSpan window)
    {
        await chat.AddSiloAsync();

        // The rooms stay where their first join placed them (activation-count placement spreads them over
        // both silos). Counted as the growth of each silo's active rooms, as a few rooms of earlier
        // scenarios may still be active for their subscription lease.
        var before = await RoomsPerSiloAsync();
        await using var run = await StartRunAsync(chat, "f", rooms, members);
        await run.SendAsync(rate / 2, PlacementSeconds, []);
        var held = (await RoomsPerSiloAsync()).Zip(before, (after, earlier) => after - earlier).ToArray();

        // The silo holding more rooms goes (the first on a tie), so that more of them have to move.
        var victim = Array.IndexOf(held, held.Max());
        var killed = chat.Silos[victim];
        var row = await KillDuringPhaseAsync(chat, run, rooms, members, rate, seconds, killAfter, window, () => chat.KillSiloAsync(killed));
        row["fault"] = "silo SIGKILL";
        row["killed"] = killed.Name;
        row["killed_rooms"] = (int)held[victim];
        row["surviving_rooms"] = (int)(held.Sum() - held[victim]);

        // What the gateways and silos said about it (the killed silo's last lines too).
        File.WriteAllText(Path.Combine(log.Directory, "warnings-failover.txt"), chat.Warnings);
        return row;
    }

    /// <summary>
    /// The same load on the chat of its own highly available PostgreSQL (scripts/postgres-ha.sh), whose
    /// primary is killed the hard way <paramref name="killAfter"/> into the phase: the standby takes over,
    /// and posts wait for it instead of failing.
    /// </summary>
    public async Task<Row> DatabaseFailoverAsync(int rooms, int members, double rate, double seconds, TimeSpan killAfter, TimeSpan window)
    {
        await using var target = await ChatTarget.StartAsync(repository, chat.DataDirectory + "-ha", highlyAvailable: true);
        await using var run = await StartRunAsync(target, "fd", rooms, members);
        await run.SendAsync(rate / 2, PlacementSeconds, []);
        var node = "";
        var row = await KillDuringPhaseAsync(target, run, rooms, members, rate, seconds, killAfter, window, async () =>
        {
            (var killedAt, node) = await target.KillPrimaryAsync();
            return killedAt;
        });
        row["fault"] = "PostgreSQL primary killed";
        row["killed"] = $"postgres {node}";
        File.WriteAllText(Path.Combine(log.Directory, "warnings-failover-database.txt"), target.Warnings);
        return row;
    }

    /// <summary>
    /// Sends for <paramref name="seconds"/>, calls <paramref name="kill"/> (which returns the Stopwatch
    /// timestamp of the kill) <paramref name="killAfter"/> in, and makes the phase's row with the figures
    /// of the <paramref name="window"/> after the kill and each room's recovery.
    /// </summary>
    private static async Task<Row> KillDuringPhaseAsync(ChatTarget target, LoadRun run, int rooms, int members, double rate, double seconds, TimeSpan killAfter, TimeSpan window, Func<Task<long>> kill)
    {
        var started = Stopwatch.GetTimestamp();
        var killAt = started + (long)(killAfter.TotalSeconds * Stopwatch.Frequency);
        var sending = run.SendAsync(rate, seconds, [], (killAt, killAt + (long)(window.TotalSeconds * Stopwatch.Frequency)));
        var wait = killAfter - Stopwatch.GetElapsedTime(started);
        if (wait > TimeSpan.Zero)
        {
            await Task.Delay(wait);
        }

        var killedAt = await kill();
        var phase = await sending;

        var row = PhaseRow(target, run, phase, rooms, members, rate, seconds);
        var recoveries = phase.RoomMaxMicroseconds.Order().ToArray();
        row["kill_at_s"] = Stopwatch.GetElapsedTime(started, killedAt).TotalSeconds;
        row["p99_after_kill_ms"] = phase.WindowLatency.PercentileMilliseconds(99);
        row["max_after_kill_ms"] = phase.WindowLatency.MaxMicroseconds / 1000.0;
        row["recovery_p50_ms"] = recoveries.Length == 0 ? 0 : recoveries[(recoveries.Length - 1) / 2] / 1000.0;
        row["recovery_max_ms"] = recoveries.Length == 0 ? 0 : recoveries[^1] / 1000.0;
        if (phase.FirstError is not null)
        {
            row["first_error"] = phase.FirstError;
        }

        return row;
    }

    /// <summary>The columns every send phase has: the load, its latency, what was lost, and what it cost.</summary>
    private static Row PhaseRow(IBenchTarget target, LoadRun run, Aggregate phase, int rooms, int members, double rate, double seconds)
    {
        var deliveries = phase.Delivered / seconds;
        return new Row
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

    private async Task<double[]> RoomsPerSiloAsync() =>
        await Task.WhenAll(chat.Silos.Select(silo => Ports.ScrapeAsync(silo.Metrics, "chat_rooms_active")));

    private static double ServerCpuSeconds(Aggregate phase) =>
        phase.CpuPercent.Where(entry => entry.Key != "generator").Sum(entry => entry.Value) / 100 * phase.Seconds;

    private async Task<(double Messages, double RoundTrips)> StoreCountersAsync() =>
        (await chat.ScrapeSilosAsync("chat_messages_stored_total"), await chat.ScrapeSilosAsync("chat_store_batch_size_count"));

    private string Prefix(string code, IBenchTarget target) => $"{code}{_run}{target.Name[0]}-";
}
