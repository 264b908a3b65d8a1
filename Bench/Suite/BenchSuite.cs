using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Chat.Orleans.Bench.Load;

namespace Chat.Orleans.Bench.Suite;

/// <summary>
/// The benchmark suite: starts PostgreSQL (durable settings), the chat (one silo, gateways as needed) and
/// the floor, then runs each scenario on both, side by side, and writes results.jsonl and report.md.
/// </summary>
public sealed class BenchSuite
{
    private readonly Repository _repository;
    private readonly ChatTarget _chat;
    private readonly FloorTarget _floor;
    private const double WarmUpSeconds = 3;

    // Idle sockets still say something now and then: one message per socket per 50 s.
    private const double IdleRate = 0.02;

    private readonly ResultLog _log;
    private readonly bool _smoke;
    private readonly string _run = DateTime.UtcNow.ToString("HHmmss", CultureInfo.InvariantCulture);
    private int _failures;
    private bool _siloMeasured;

    private BenchSuite(Repository repository, ChatTarget chat, FloorTarget floor, ResultLog log, bool smoke)
    {
        _repository = repository;
        _chat = chat;
        _floor = floor;
        _log = log;
        _smoke = smoke;
    }

    private IBenchTarget[] Targets => [_floor, _chat];

    public static async Task<int> RunAsync(string[] args)
    {
        var repository = Repository.Find();
        var smoke = args.Contains("--smoke");
        var output = Option(args, "--out") ?? Path.Combine(repository.Root, "bench-results");
        var data = Option(args, "--data") ?? Path.Combine(repository.Root, ".data", "bench-postgres");
        var only = Option(args, "--only")?.Split(',') ?? [];
        var log = new ResultLog(output);
        var started = Stopwatch.GetTimestamp();

        await using var chat = await ChatTarget.StartAsync(repository, data);
        await using var floor = new FloorTarget(repository);
        var suite = new BenchSuite(repository, chat, floor, log, smoke);
        log.Note(Machine());

        (string Name, Func<Task> Run)[] scenarios = smoke
            ? [("smoke", suite.SmokeAsync)]
            : [
                // The one-process limit first, while the silo's memory is fresh.
                ("limit", suite.SocketLimitAsync),
                ("hot", suite.HotRoomAsync),
                ("many", suite.ManyRoomsAsync),
                ("saturation", suite.SaturationAsync),
                ("join", suite.JoinAsync),
                ("durability", suite.DurabilityAsync),

                // Last: a hundred thousand sockets leave a lot to clean up.
                ("100k", suite.HundredThousandAsync),
            ];

        // Not part of the suite: one steady load on the chat alone, long enough to attach a profiler.
        if (only.Contains("profile"))
        {
            scenarios = [("profile", suite.ProfileAsync)];
        }
        foreach (var (name, run) in scenarios.Where(scenario => only.Length == 0 || only.Contains(scenario.Name)))
        {
            var scenarioStarted = Stopwatch.GetTimestamp();
            await run();
            Console.WriteLine($"({name}: {Stopwatch.GetElapsedTime(scenarioStarted).TotalSeconds:0} s)");
        }

        log.Note($"Suite finished in {Stopwatch.GetElapsedTime(started).TotalSeconds:0} s; {suite._failures} check(s) failed. Results: {log.JsonPath}, {log.TablePath}");
        return suite._failures == 0 ? 0 : 1;
    }

    private static string? Option(string[] args, string name)
    {
        var at = Array.IndexOf(args, name);
        return at >= 0 && at + 1 < args.Length ? args[at + 1] : null;
    }

    private static string Machine()
    {
        var cpu = File.ReadLines("/proc/cpuinfo").FirstOrDefault(line => line.StartsWith("model name", StringComparison.Ordinal))?.Split(':')[1].Trim();
        var memory = File.ReadLines("/proc/meminfo").First().Split(' ', StringSplitOptions.RemoveEmptyEntries)[1];
        return $"Machine: {Environment.ProcessorCount} cores ({cpu}), {long.Parse(memory, CultureInfo.InvariantCulture) / 1024 / 1024} GiB, " +
            $"{System.Runtime.InteropServices.RuntimeInformation.OSDescription}, .NET {Environment.Version}, run at {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC.";
    }

    /// <summary>A few seconds of the generator against both targets: the test suite runs this so the benchmarks cannot rot.</summary>
    private async Task SmokeAsync()
    {
        var rows = new List<Row>();
        foreach (var target in Targets)
        {
            rows.Add(await MeasureAsync(target, "smoke", rooms: 2, members: 10, rate: 2, seconds: 2, warmUp: false));
        }

        _log.Write("smoke", "Smoke: 2 rooms × 10 members, 2 msg/s each, 2 s", rows);
        Check(rows.All(row => (long)row["lost"]! == 0 && (long)row["dup"]! == 0 && (long)row["misordered"]! == 0 && (long)row["delivered"]! > 0), "smoke: every message delivered once, in order");
        var join = await JoinRowAsync(_chat, rooms: 4, cold: false);
        _log.Write("smoke-join", "Smoke: joins with 10 messages of history", [join]);
        Check((int)join["joined"]! == 4 && (long)join["history_short"]! == 0, "smoke: joins received their history");
    }

    private async Task ProfileAsync()
    {
        var rooms = int.Parse(Environment.GetEnvironmentVariable("BENCH_PROFILE_ROOMS") ?? "1000", CultureInfo.InvariantCulture);
        var rate = double.Parse(Environment.GetEnvironmentVariable("BENCH_PROFILE_RATE") ?? "1", CultureInfo.InvariantCulture);
        var target = Environment.GetEnvironmentVariable("BENCH_PROFILE_TARGET") == "floor" ? (IBenchTarget)_floor : _chat;
        var servers = int.Parse(Environment.GetEnvironmentVariable("BENCH_PROFILE_SERVERS") ?? "1", CultureInfo.InvariantCulture);
        await using var run = await LoadRun.StartAsync(_repository, target, Prefix("p", target), rooms, 10, servers: servers);
        var row = await PhaseAsync(target, run, rooms, 10, rate, 30);
        _log.Write("profile", $"Profile: {target.Name} only, {rooms} rooms × 10 members, {rate} msg/s each, 30 s (BENCH_PROFILE_ROOMS, _RATE, _TARGET)", [row]);
    }

    private async Task HotRoomAsync()
    {
        var rows = new List<Row>();
        foreach (var members in new[] { 50, 200, 500, 1000 })
        {
            foreach (var target in Targets)
            {
                rows.Add(await MeasureAsync(target, "h", rooms: 1, members, rate: 0.5, seconds: 5));
            }
        }

        _log.Write("hot-room", "Hot room: 1 room × M members, 0.5 msg/s each, 5 s measured after 3 s of warm-up at half the rate", WithRatios(rows));
        var target500 = rows.Single(row => (string)row["target"]! == "chat" && (int)row["members"]! == 500);
        Target("hot room 1×500: nothing lost or rejected, p99 ≤ 50 ms", (long)target500["lost"]! == 0 && (long)target500["rejected"]! == 0 && (double)target500["p99_ms"]! <= 50);
    }

    private async Task ManyRoomsAsync()
    {
        var rows = new List<Row>();

        // The same total offered load (10 000 msg/s at most) spread over more rooms and sockets.
        foreach (var (rooms, rate) in new[] { (100, 1.0), (1000, 1.0), (5000, 0.2) })
        {
            foreach (var target in Targets)
            {
                rows.Add(await MeasureAsync(target, "m", rooms, members: 10, rate, seconds: 5));
            }
        }

        _log.Write("many-rooms", "Many rooms: R rooms × 10 members (5000 rooms at 0.2 msg/s each, the same total as 1000 at 1), 5 s measured after 3 s of warm-up at half the rate", WithRatios(rows));
        var target1000 = rows.Single(row => (string)row["target"]! == "chat" && (int)row["rooms"]! == 1000);
        Target("many rooms 1000×10 at 1 msg/s: p99 ≤ 20 ms", (double)target1000["p99_ms"]! <= 20);
    }

    /// <summary>Raises the offered rate step by step until p99 passes 100 ms (or anything is lost).</summary>
    private async Task SaturationAsync()
    {
        var best = new Dictionary<string, double>();
        var rows = new List<Row>();
        foreach (var target in Targets)
        {
            await using var run = await LoadRun.StartAsync(_repository, target, Prefix("s", target), rooms: 1, members: 1000);
            var rates = new[] { 0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 1.0, 1.4, 2.0 };
            foreach (var rate in rates)
            {
                var row = await PhaseAsync(target, run, 1, 1000, rate, 4, warmUp: rate == rates[0]);
                rows.Add(row);
                if (!Sustained(row))
                {
                    row["saturated"] = true;
                    break;
                }

                best[target.Name] = (double)row["deliveries_s"]!;
            }
        }

        var ratio = best.GetValueOrDefault("chat") / Math.Max(1, best.GetValueOrDefault("floor"));
        var topped = rows.Where(row => !row.ContainsKey("saturated") && (double)row["rate"]! == 2.0).Select(row => (string)row["target"]!).ToArray();
        _log.Write("saturation", "Saturation: 1 room × 1000 members, rate raised every 4 s until p99 > 100 ms or a loss", rows,
        [
            $"Highest sustained deliveries/s: chat {best.GetValueOrDefault("chat"):0}, floor {best.GetValueOrDefault("floor"):0}, ratio {ratio:0.00}. " +
            "The saturated row's cpu column shows which process ran out (100% is one of the two cores)." +
            (topped.Length > 0 ? $" Not saturated at the top of the ladder (2 msg/s each): {string.Join(", ", topped)}." : ""),
        ]);
        Target("saturation: chat sustains at least half the floor's deliveries/s", ratio >= 0.5);
    }

    private async Task JoinAsync()
    {
        var rows = new List<Row>();
        foreach (var cold in new[] { false, true })
        {
            foreach (var target in Targets)
            {
                rows.Add(await JoinRowAsync(target, rooms: 200, cold, history: 100));
            }
        }

        _log.Write("join", "Join: name sent to ready received, 200 rooms each holding 100 messages, 8 joins at a time", rows,
            ["The floor stores nothing, so its joins carry no history: it is the cost of the socket and the roster alone."]);
        var warm = rows.Single(row => (string)row["target"]! == "chat" && !(bool)row["cold"]!);
        Target("join with 100 messages of history: p99 ≤ 20 ms warm", (double)warm["p99_ms"]! <= 20 && (long)warm["history_short"]! == 0);
    }

    private async Task DurabilityAsync()
    {
        var rows = new List<Row>
        {
            await MeasureAsync(_chat, "d", rooms: 1, members: 10, rate: 500, seconds: 8),
            await MeasureAsync(_chat, "e", rooms: 1000, members: 2, rate: 5, seconds: 8),
        };
        _log.Write("durability", "Durability cost: messages stored per second (fsync on), group commit across rooms", rows,
            ["round_trips_per_msg: database round trips (batched INSERTs) per stored message, from the silo's chat_store_batch_size histogram."]);
        var across = rows[1];
        Target("at least 5 000 stored messages/s across 1000 rooms", (double)across["stored_s"]! >= 5000);
    }

    /// <summary>Idle joined sockets on one server process, up to the gateway's file limit (and past it, for the chat).</summary>
    private async Task SocketLimitAsync()
    {
        var rows = new List<Row>();
        var limit = GatewaySocketLimit();
        foreach (var target in Targets)
        {
            // Past the limit for the chat only: a bare Kestrel server driven past its file limit dies.
            var sockets = target == _chat ? limit + 200 : limit;
            rows.Add(await IdleSocketsAsync(target, "c", sockets / 10, servers: 1));
        }

        _log.Write("connections-one-process", $"Connections, one server process: idle joined sockets in rooms of 10, up to the gateway's limit ({limit} sockets), 200 more for the chat", rows,
            ["Memory is the growth of resident memory (RSS) from before the sockets connected to after, divided by the sockets (and by the rooms, for the silo). " +
             "After connecting, each socket sends at 0.02 msg/s for 5 s, to show that the sockets still work (lost counts those messages)."]);
        var one = rows.Single(row => (string)row["target"]! == "chat");
        Target("one gateway: ≤ 10 KiB per socket up to its limit", (double)one["gateway_bytes_per_socket"]! <= 10 * 1024);
        Target("one gateway refuses the sockets past its limit (503) and keeps serving the others",
            (int)one["refused"]! == 200 && (int)one["joined"]! == limit && (long)one["lost"]! == 0 && (long)one["closed"]! == 0);
    }

    /// <summary>100 000 idle joined sockets across six server processes (and twelve load workers).</summary>
    private async Task HundredThousandAsync()
    {
        var rows = new List<Row>();
        foreach (var target in Targets)
        {
            rows.Add(await IdleSocketsAsync(target, "k", 10_000, servers: 6));
        }

        _log.Write("connections-100k", "Connections: 100 000 idle joined sockets in 10 000 rooms of 10, across 6 server processes", rows);
        var chat = rows.Single(row => (string)row["target"]! == "chat");
        Target("100 000 joined sockets across gateway processes", (int)chat["joined"]! == 100_000 && (long)chat["lost"]! == 0);
    }

    /// <summary>The gateway's default socket limit: its file limit less a reserve (see GatewayOptions.MaxSockets).</summary>
    private static int GatewaySocketLimit()
    {
        var line = File.ReadLines("/proc/self/limits").First(line => line.StartsWith("Max open files", StringComparison.Ordinal));
        var soft = long.Parse(line["Max open files".Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries)[0], CultureInfo.InvariantCulture);
        return (int)Math.Min(soft - 1000, 1_000_000);
    }

    private async Task<Row> IdleSocketsAsync(IBenchTarget target, string code, int rooms, int servers)
    {
        // Fresh server processes, so their memory growth is these sockets' alone.
        var firstServer = target.Endpoints.Count;
        await target.EnsureServersAsync(firstServer + servers);
        var serverProcesses = target.Processes.Where(process => process.Role is "gateway" or "floor").Skip(firstServer).ToArray();
        var silo = target.Processes.FirstOrDefault(process => process.Role == "silo");
        var before = serverProcesses.Sum(process => process.ResidentBytes());
        var siloBefore = silo?.ResidentBytes() ?? 0;
        await using var run = await LoadRun.StartAsync(_repository, target, Prefix(code, target), rooms, members: 10, firstServer, servers, connectConcurrency: 100);
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
            if (target == _chat)
            {
                File.WriteAllText(Path.Combine(_log.Directory, $"warnings-{code}.txt"), _chat.Warnings);
            }
        }

        return row;
    }

    private async Task<Row> JoinRowAsync(IBenchTarget target, int rooms, bool cold, int history = 10)
    {
        await target.EnsureServersAsync(1);
        var plan = new LoadPlan("join", target.Endpoints[0], "127.0.0.1", Prefix(cold ? "jc" : "jw", target), 0, rooms, 2, ConnectConcurrency: 8, HistoryMessages: history, Cold: cold);
        await using var worker = BenchProcess.Start("join", _repository.Program("Bench"), ["load", JsonSerializer.Serialize(plan, BenchJson.Options)], new Dictionary<string, string>(), _repository.Project("Bench"));
        var result = Aggregate.Of([await LoadRun.ReadReportAsync(worker, TimeSpan.FromMinutes(3))]);
        await target.SettleAsync();
        return new Row
        {
            ["target"] = target.Name,
            ["cold"] = cold,
            ["history"] = target == _chat ? history : 0,
            ["joined"] = result.Connected,
            ["failed"] = result.Failed,
            ["history_short"] = target == _chat ? result.HistoryShort : 0L,
            ["p50_ms"] = result.Latency.PercentileMilliseconds(50),
            ["p99_ms"] = result.Latency.PercentileMilliseconds(99),
            ["max_ms"] = result.Latency.MaxMicroseconds / 1000.0,
        };
    }

    private async Task<Row> MeasureAsync(IBenchTarget target, string code, int rooms, int members, double rate, double seconds, bool warmUp = true)
    {
        await using var run = await LoadRun.StartAsync(_repository, target, Prefix(code, target), rooms, members);
        var row = await PhaseAsync(target, run, rooms, members, rate, seconds, warmUp);
        row["connect_s"] = run.Joined.Seconds;
        return row;
    }

    private async Task<Row> PhaseAsync(IBenchTarget target, LoadRun run, int rooms, int members, double rate, double seconds, bool warmUp = true)
    {
        if (warmUp)
        {
            // Unmeasured: a fresh process runs unoptimized (tier-0) code at first, and under a sudden
            // 100k deliveries/s it fell seconds behind before the JIT caught up (BENCHMARKS.md).
            // Half the rate, so the warm-up does not leave a backlog for the measured phase.
            await run.SendAsync(rate / 2, WarmUpSeconds, []);
        }

        var stored = target == _chat ? await StoreCountersAsync() : default;
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
        if (target == _chat)
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

    private static double ServerCpuSeconds(Aggregate phase) =>
        phase.CpuPercent.Where(entry => entry.Key != "generator").Sum(entry => entry.Value) / 100 * phase.Seconds;

    private async Task<(double Messages, double RoundTrips)> StoreCountersAsync() =>
        (await Ports.ScrapeAsync(_chat.SiloMetrics, "chat_messages_stored_total"), await Ports.ScrapeAsync(_chat.SiloMetrics, "chat_store_batch_size_count"));

    private static bool Sustained(Row row) =>
        (double)row["p99_ms"]! <= 100 && (long)row["lost"]! == 0 && (long)row["closed"]! == 0 && (long)row["skipped"]! <= (double)row["offered_msg_s"]! * 0.01;

    /// <summary>Adds, to each chat row, its figures as ratios to the floor row of the same shape.</summary>
    private static List<Row> WithRatios(List<Row> rows)
    {
        foreach (var chat in rows.Where(row => (string)row["target"]! == "chat"))
        {
            var floor = rows.FirstOrDefault(row => (string)row["target"]! == "floor" && Equals(row["rooms"], chat["rooms"]) && Equals(row["members"], chat["members"]));
            if (floor is null)
            {
                continue;
            }

            chat["p99_vs_floor"] = (double)chat["p99_ms"]! / Math.Max(0.001, (double)floor["p99_ms"]!);
            chat["deliveries_vs_floor"] = (double)chat["deliveries_s"]! / Math.Max(0.001, (double)floor["deliveries_s"]!);
            chat["cpu_vs_floor"] = (double)chat["server_cpu_us_per_delivery"]! / Math.Max(0.001, (double)floor["server_cpu_us_per_delivery"]!);
        }

        return rows;
    }

    private string Prefix(string code, IBenchTarget target) => $"{code}{_run}{target.Name[0]}-";

    private void Check(bool passed, string what)
    {
        if (!passed)
        {
            _failures++;
        }

        _log.Note($"{(passed ? "PASS" : "FAIL")}: {what}");
    }

    /// <summary>A target of the issue: reported, but a miss does not fail the run (the note says by how much).</summary>
    private void Target(string what, bool met) => _log.Note($"target {(met ? "MET" : "MISSED")}: {what}");
}
