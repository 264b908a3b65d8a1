using System.Globalization;

namespace Chat.Orleans.Bench.Suite;

/// <summary>
/// What each scenario runs, against the floor and then the chat, and what it writes: its table, and the
/// checks (which fail the run) and targets (which are only reported) it holds the chat to. In the order
/// the suite runs them, after the smoke pass; the profile load last, as it is no part of the suite.
/// </summary>
public sealed class Scenarios(Measurements measurements, ChatTarget chat, FloorTarget floor, ResultLog log)
{
    private IBenchTarget[] Targets => [floor, chat];

    /// <summary>A few seconds of the generator against both targets: the test suite runs this so the benchmarks cannot rot.</summary>
    public async Task SmokeAsync()
    {
        var rows = new List<Row>();
        foreach (var target in Targets)
        {
            rows.Add(await measurements.MeasureAsync(target, "smoke", rooms: 2, members: 10, rate: 2, seconds: 2));
        }

        log.Write("smoke", "Smoke: 2 rooms × 10 members, 2 msg/s each, 2 s", rows);
        log.Check(rows.All(row => (long)row["lost"]! == 0 && (long)row["dup"]! == 0 && (long)row["misordered"]! == 0 && (long)row["delivered"]! > 0), "smoke: every message delivered once, in order");
        var join = await measurements.JoinRowAsync(chat, rooms: 4, cold: false);
        log.Write("smoke-join", "Smoke: joins with 10 messages of history", [join]);
        log.Check((int)join["joined"]! == 4 && (long)join["history_short"]! == 0, "smoke: joins received their history");
    }

    /// <summary>Idle joined sockets on one server process, up to the gateway's file limit (and past it, for the chat).</summary>
    public async Task SocketLimitAsync()
    {
        var rows = new List<Row>();
        var limit = GatewaySocketLimit();
        foreach (var target in Targets)
        {
            // Past the limit for the chat only: a bare Kestrel server driven past its file limit dies.
            var sockets = target == chat ? limit + 200 : limit;
            rows.Add(await measurements.IdleSocketsAsync(target, "c", sockets / 10, servers: 1));
        }

        log.Write("connections-one-process", $"Connections, one server process: idle joined sockets in rooms of 10, up to the gateway's limit ({limit} sockets), 200 more for the chat", rows,
            ["Memory is the growth of resident memory (RSS) from before the sockets connected to after, divided by the sockets (and by the rooms, for the silo). " +
             "After connecting, each socket sends at 0.02 msg/s for 5 s, to show that the sockets still work (lost counts those messages)."]);
        var one = rows.Single(row => (string)row["target"]! == "chat");
        log.Target("one gateway: ≤ 10 KiB per socket up to its limit", (double)one["gateway_bytes_per_socket"]! <= 10 * 1024);
        log.Target("one gateway refuses the sockets past its limit (503) and keeps serving the others",
            (int)one["refused"]! == 200 && (int)one["joined"]! == limit && (long)one["lost"]! == 0 && (long)one["closed"]! == 0);
    }

    public async Task HotRoomAsync()
    {
        var rows = new List<Row>();
        foreach (var members in new[] { 50, 200, 500, 1000 })
        {
            foreach (var target in Targets)
            {
                rows.Add(await measurements.MeasureAsync(target, "h", rooms: 1, members, rate: 0.5, seconds: 5));
            }
        }

        // The same room with every client signed in (a token each): what verification costs a join and a message.
        var verified = await measurements.MeasureAsync(chat, "hv", rooms: 1, 500, rate: 0.5, seconds: 5, verified: true);
        verified["verified"] = true;
        rows.Add(verified);

        // And with every capability: presence lists on every join, and a tenth of the frames typing hints
        // or reactions (each reaction a write to the log and a frame to all 500).
        var rich = await measurements.MeasureAsync(chat, "hr", rooms: 1, 500, rate: 0.5, seconds: 5, verified: true, rich: true);
        rich["verified"] = true;
        rich["rich"] = true;
        rows.Add(rich);

        log.Write("hot-room", "Hot room: 1 room × M members, 0.5 frames/s each, 5 s measured, no warm-up; the verified row's clients each sign in with a token; the rich row's also have every capability, and 1 frame in 10 is a typing hint or a reaction (so 0.45 msg/s)", WithRatios(rows));
        var target500 = rows.Single(row => (string)row["target"]! == "chat" && (int)row["members"]! == 500 && !row.ContainsKey("verified"));
        log.Target("hot room 1×500: nothing lost or rejected, p99 ≤ 50 ms", (long)target500["lost"]! == 0 && (long)target500["rejected"]! == 0 && (double)target500["p99_ms"]! <= 50);
    }

    public async Task ManyRoomsAsync()
    {
        var rows = new List<Row>();

        // The same total offered load (10 000 msg/s at most) spread over more rooms and sockets.
        foreach (var (rooms, rate) in new[] { (100, 1.0), (1000, 1.0), (5000, 0.2) })
        {
            foreach (var target in Targets)
            {
                rows.Add(await measurements.MeasureAsync(target, "m", rooms, members: 10, rate, seconds: 5));
            }
        }

        log.Write("many-rooms", "Many rooms: R rooms × 10 members (5000 rooms at 0.2 msg/s each, the same total as 1000 at 1), 5 s measured, no warm-up", WithRatios(rows));
        var target1000 = rows.Single(row => (string)row["target"]! == "chat" && (int)row["rooms"]! == 1000);
        log.Target("many rooms 1000×10 at 1 msg/s: p99 ≤ 20 ms", (double)target1000["p99_ms"]! <= 20);
    }

    /// <summary>Raises the offered rate step by step until p99 passes 100 ms (or anything is lost).</summary>
    public async Task SaturationAsync()
    {
        var best = new Dictionary<string, double>();
        var rows = new List<Row>();
        foreach (var target in Targets)
        {
            await using var run = await measurements.StartRunAsync(target, "s", rooms: 1, members: 1000);
            var rates = new[] { 0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 1.0, 1.4, 2.0 };

            // The one warm-up left in the suite, for both targets: a capacity search, not a fresh process's
            // latency. Without it 1000 freshly joined sockets missed the first step's 100 ms on the floor
            // as well as on the chat (the generator's and the servers' first seconds: thread-pool growth,
            // first sends on each socket), and the ramp ended before it began (BENCHMARKS.md).
            await run.SendAsync(rates[0] / 2, 3, []);
            foreach (var rate in rates)
            {
                var row = await measurements.PhaseAsync(target, run, 1, 1000, rate, 4);
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
        log.Write("saturation", "Saturation: 1 room × 1000 members, rate raised every 4 s until p99 > 100 ms or a loss", rows,
        [
            $"Highest sustained deliveries/s: chat {best.GetValueOrDefault("chat"):0}, floor {best.GetValueOrDefault("floor"):0}, ratio {ratio:0.00}. " +
            "The saturated row's cpu column shows which process ran out (100% is one of the two cores)." +
            (topped.Length > 0 ? $" Not saturated at the top of the ladder (2 msg/s each): {string.Join(", ", topped)}." : ""),
        ]);
        log.Target("saturation: chat sustains at least half the floor's deliveries/s", ratio >= 0.5);
    }

    public async Task JoinAsync()
    {
        var rows = new List<Row>();
        foreach (var cold in new[] { false, true })
        {
            foreach (var target in Targets)
            {
                rows.Add(await measurements.JoinRowAsync(target, rooms: 200, cold, history: 100));
            }
        }

        log.Write("join", "Join: name sent to ready received, 200 rooms each holding 100 messages, 8 joins at a time", rows,
            ["The floor stores nothing, so its joins carry no history: it is the cost of the socket and the roster alone."]);
        var warm = rows.Single(row => (string)row["target"]! == "chat" && !(bool)row["cold"]!);
        log.Target("join with 100 messages of history: p99 ≤ 20 ms warm", (double)warm["p99_ms"]! <= 20 && (long)warm["history_short"]! == 0);
    }

    public async Task DurabilityAsync()
    {
        var rows = new List<Row>
        {
            await measurements.MeasureAsync(chat, "d", rooms: 1, members: 10, rate: 500, seconds: 8),
            await measurements.MeasureAsync(chat, "e", rooms: 1000, members: 2, rate: 5, seconds: 8),
        };
        log.Write("durability", "Durability cost: messages stored per second (fsync on), group commit across rooms", rows,
            ["round_trips_per_msg: database round trips (batched INSERTs) per stored message, from the silo's chat_store_batch_size histogram."]);
        var across = rows[1];
        log.Target("at least 5 000 stored messages/s across 1000 rooms", (double)across["stored_s"]! >= 5000);
    }

    /// <summary>100 000 idle joined sockets across six server processes (and twelve load workers).</summary>
    public async Task HundredThousandAsync()
    {
        var rows = new List<Row>();
        foreach (var target in Targets)
        {
            rows.Add(await measurements.IdleSocketsAsync(target, "k", 10_000, servers: 6));
        }

        log.Write("connections-100k", "Connections: 100 000 idle joined sockets in 10 000 rooms of 10, across 6 server processes", rows);
        var chatRow = rows.Single(row => (string)row["target"]! == "chat");
        log.Target("100 000 joined sockets across gateway processes", (int)chatRow["joined"]! == 100_000 && (long)chatRow["lost"]! == 0);
    }

    /// <summary>
    /// One of two silos killed (SIGKILL) while 200 rooms chat, the chat alone (the floor has no silos):
    /// nothing may be lost or doubled, and every room should be back within 3 s. Then the same load on a
    /// chat of its own on a highly available PostgreSQL whose primary is killed: back within 10 s.
    /// </summary>
    public async Task FailoverAsync()
    {
        var silo = await measurements.FailoverAsync(rooms: 200, members: 10, rate: 0.5, seconds: 20, killAfter: TimeSpan.FromSeconds(6), window: TimeSpan.FromSeconds(10));
        var database = await measurements.DatabaseFailoverAsync(rooms: 200, members: 10, rate: 0.5, seconds: 20, killAfter: TimeSpan.FromSeconds(6), window: TimeSpan.FromSeconds(10));
        log.Write("failover", "Failover: 200 rooms × 10 members, 0.5 msg/s each, 20 s measured after 3 s at half the rate to place the rooms; 6 s in, one of two silos killed (SIGKILL), or on a chat of its own (one silo, scripts/postgres-ha.sh) the PostgreSQL primary", [silo, database],
        [
            "kill_at_s: when the kill was sent, from the start of the phase. killed: the silo killed, the one holding more of the rooms, the first on a tie (killed_rooms; " +
            "surviving_rooms on the other, counted from each silo's chat_rooms_active after the placement phase); or the PostgreSQL node that was the primary " +
            "(pg_autoctl stop --immediate: its keeper and server at once). p99_after_kill_ms, max_after_kill_ms: " +
            "the deliveries received in the 10 s from the kill (p99_ms is the whole phase). recovery_p50_ms, recovery_max_ms: each room's slowest " +
            "delivery of the phase (a message sent just after the kill waits until its room is reachable again, or the standby is promoted), as median and maximum over the rooms. " +
            "rejected: error frames (a post the gateway gave up on); closed: sockets the server closed; the load clients do not reconnect. " +
            "After the silo row the other silo runs the chat alone; the database row's PostgreSQL CPU counts both data nodes.",
        ]);
        foreach (var (row, what, bound) in new[] { (silo, "a silo is killed", 3000.0), (database, "the PostgreSQL primary is killed", 10_000.0) })
        {
            var lost = (long)row["lost"]!;
            var dup = (long)row["dup"]!;
            log.Check(lost == 0 && dup == 0, $"failover: nothing lost or duplicated when {what}");
            log.Target($"failover when {what}: 0 lost, 0 duplicated, 0 error frames, 0 sockets closed, max recovery ≤ {bound / 1000:0} s",
                lost == 0 && dup == 0 && (long)row["rejected"]! == 0 && (long)row["closed"]! == 0 && (double)row["recovery_max_ms"]! <= bound);
        }
    }

    /// <summary>One steady load on one target, shaped by BENCH_PROFILE_* variables, long enough to attach a profiler.</summary>
    public async Task ProfileAsync()
    {
        var rooms = int.Parse(Environment.GetEnvironmentVariable("BENCH_PROFILE_ROOMS") ?? "1000", CultureInfo.InvariantCulture);
        var rate = double.Parse(Environment.GetEnvironmentVariable("BENCH_PROFILE_RATE") ?? "1", CultureInfo.InvariantCulture);
        var target = Environment.GetEnvironmentVariable("BENCH_PROFILE_TARGET") == "floor" ? (IBenchTarget)floor : chat;
        var servers = int.Parse(Environment.GetEnvironmentVariable("BENCH_PROFILE_SERVERS") ?? "1", CultureInfo.InvariantCulture);

        // Longer runs are a background load for other measurements (the fault tests under load).
        var seconds = int.Parse(Environment.GetEnvironmentVariable("BENCH_PROFILE_SECONDS") ?? "30", CultureInfo.InvariantCulture);
        await using var run = await measurements.StartRunAsync(target, "p", rooms, 10, servers);
        var row = await measurements.PhaseAsync(target, run, rooms, 10, rate, seconds);
        log.Write("profile", $"Profile: {target.Name} only, {rooms} rooms × 10 members, {rate} msg/s each, {seconds} s (BENCH_PROFILE_ROOMS, _RATE, _TARGET, _SECONDS)", [row]);
    }

    /// <summary>The gateway's default socket limit: its file limit less a reserve (see GatewayOptions.MaxSockets).</summary>
    private static int GatewaySocketLimit()
    {
        var line = File.ReadLines("/proc/self/limits").First(line => line.StartsWith("Max open files", StringComparison.Ordinal));
        var soft = long.Parse(line["Max open files".Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries)[0], CultureInfo.InvariantCulture);
        return (int)Math.Min(soft - 1000, 1_000_000);
    }

    /// <summary>A saturation step the target kept up with: p99 within 100 ms, nothing lost or closed, and
    /// sends skipped no more than 1% of one second's offered messages.</summary>
    private static bool Sustained(Row row) =>
        (double)row["p99_ms"]! <= 100 && (long)row["lost"]! == 0 && (long)row["closed"]! == 0 && (long)row["skipped"]! <= (double)row["offered_msg_s"]! * 0.01;

    /// <summary>Adds, to each chat row, its figures as ratios to the floor row of the same shape.</summary>
    private static List<Row> WithRatios(List<Row> rows)
    {
        foreach (var chatRow in rows.Where(row => (string)row["target"]! == "chat"))
        {
            var floorRow = rows.FirstOrDefault(row => (string)row["target"]! == "floor" && Equals(row["rooms"], chatRow["rooms"]) && Equals(row["members"], chatRow["members"]));
            if (floorRow is null)
            {
                continue;
            }

            chatRow["p99_vs_floor"] = (double)chatRow["p99_ms"]! / Math.Max(0.001, (double)floorRow["p99_ms"]!);
            chatRow["deliveries_vs_floor"] = (double)chatRow["deliveries_s"]! / Math.Max(0.001, (double)floorRow["deliveries_s"]!);
            chatRow["cpu_vs_floor"] = (double)chatRow["server_cpu_us_per_delivery"]! / Math.Max(0.001, (double)floorRow["server_cpu_us_per_delivery"]!);
        }

        return rows;
    }
}
