using System.Diagnostics;

namespace Chat.Orleans.Bench.Suite;

/// <summary>
/// The benchmark suite: starts PostgreSQL (durable settings), the chat (one silo, a second for the failover, gateways as needed) and
/// the floor, then runs the chosen scenarios in order, each on both side by side, and writes results.jsonl
/// and report.md. What each scenario runs is in <see cref="Scenarios"/>, how a row is measured in
/// <see cref="Measurements"/>, the files in <see cref="ResultLog"/>.
/// </summary>
public static class BenchSuite
{
    /// <summary>Runs the suite; the exit code is 1 if any check failed (a missed target does not count).</summary>
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
        var scenarios = new Scenarios(new Measurements(repository, chat, log), chat, floor, log);
        log.NoteMachine();

        foreach (var (name, run) in Chosen(scenarios, smoke, only))
        {
            var scenarioStarted = Stopwatch.GetTimestamp();
            await run();
            Console.WriteLine($"({name}: {Stopwatch.GetElapsedTime(scenarioStarted).TotalSeconds:0} s)");
        }

        log.Note($"Suite finished in {Stopwatch.GetElapsedTime(started).TotalSeconds:0} s; {log.Failures} check(s) failed. Results: {log.JsonPath}, {log.TablePath}");
        return log.Failures == 0 ? 0 : 1;
    }

    /// <summary>The scenarios to run, in the order they run: <c>--only</c> names picks some of them.</summary>
    private static IEnumerable<(string Name, Func<Task> Run)> Chosen(Scenarios scenarios, bool smoke, string[] only)
    {
        (string Name, Func<Task> Run)[] all = smoke
            ? [("smoke", scenarios.SmokeAsync)]
            : [
                // The one-process limit first, while the silo's memory is fresh.
                ("limit", scenarios.SocketLimitAsync),
                ("hot", scenarios.HotRoomAsync),
                ("many", scenarios.ManyRoomsAsync),
                ("saturation", scenarios.SaturationAsync),
                ("join", scenarios.JoinAsync),
                ("durability", scenarios.DurabilityAsync),

                // Near the end: a hundred thousand sockets leave a lot to clean up.
                ("100k", scenarios.HundredThousandAsync),

                // Last: it adds a silo and kills one of the two, so the chat ends on another silo than it began.
                ("failover", scenarios.FailoverAsync),
            ];

        // Not part of the suite: one steady load on the chat alone, long enough to attach a profiler.
        if (only.Contains("profile"))
        {
            all = [("profile", scenarios.ProfileAsync)];
        }

        return all.Where(scenario => only.Length == 0 || only.Contains(scenario.Name));
    }

    private static string? Option(string[] args, string name)
    {
        var at = Array.IndexOf(args, name);
        return at >= 0 && at + 1 < args.Length ? args[at + 1] : null;
    }
}
