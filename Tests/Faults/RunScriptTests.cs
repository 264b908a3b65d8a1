using System.Diagnostics;
using System.Net;
using System.Net.WebSockets;
using System.Text.Json;
using System.Text.RegularExpressions;
using Npgsql;
using Xunit.Abstractions;

namespace Chat.Orleans.Tests.Faults;

/// <summary>
/// A data folder for run.sh whose PostgreSQL has been created already (initdb), as on a developer's
/// second start; the figures then measure a start, not a first install.
/// </summary>
public sealed class RunScriptFolder : IAsyncLifetime
{
    public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "chat-run-" + Guid.NewGuid().ToString("N")[..12]);

    public async Task InitializeAsync()
    {
        await PostgresScriptAsync("start");
        await PostgresScriptAsync("stop");
    }

    public async Task DisposeAsync()
    {
        // Stopped already unless a test left run.sh's PostgreSQL behind; stopping twice is harmless.
        await PostgresScriptAsync("stop");
        Directory.Delete(Path, recursive: true);
    }

    private async Task PostgresScriptAsync(string command)
    {
        var start = new ProcessStartInfo("bash", [RepositoryPaths.Of("scripts", "postgres.sh"), command, Path])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using var process = Process.Start(start)!;
        var error = process.StandardError.ReadToEndAsync();
        await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"postgres.sh {command} failed: {await error}");
        }
    }
}

/// <summary>run.sh as the operator's supervisor: it restarts what dies, and Ctrl-C stops everything.</summary>
public sealed class RunScriptTests(RunScriptFolder folder, ITestOutputHelper output) : IClassFixture<RunScriptFolder>
{
    private static readonly Regex BuildDecision = new(@"^(Not building|Building).*");
    private static readonly Regex PostgresLine = new(@"^PostgreSQL: (?<connection>\S+) ");
    private static readonly Regex SiloStarted = new(@"^silo (?<silo>\d+) started \(pid (?<pid>\d+)\)");

    private static string NewRoom(string prefix) => $"{prefix}-{Guid.NewGuid():N}"[..24];

    [Fact]
    public async Task A_silo_killed_under_run_sh_is_restarted_chat_goes_on_and_Ctrl_C_leaves_nothing_running()
    {
        await using var run = RunScriptProcess.Start(folder.Path, silos: 2);
        var build = (await run.WaitForLineAsync(BuildDecision, TimeSpan.FromSeconds(60))).Value;
        var connectionString = (await run.WaitForLineAsync(PostgresLine, TimeSpan.FromSeconds(60))).Groups["connection"].Value;
        var killed = await SiloPidAsync(run, 1, TimeSpan.FromMinutes(5));
        await SiloPidAsync(run, 2, TimeSpan.FromSeconds(30));
        await UntilReadyAsync(run.GatewayUri, TimeSpan.FromSeconds(60));
        var firstReady = run.SinceStart.Elapsed;

        var room = NewRoom("runsh");
        var (alice, _) = await SayAsync(run, room, null, "before the kill", TimeSpan.FromSeconds(60));

        Process.GetProcessById(killed).Kill();
        var sinceKill = Stopwatch.StartNew();
        var siloBack = RestartedSiloReadyAsync(run, killed, sinceKill);
        await run.WaitForLineAsync(new Regex($@"^silo 1 \(pid {killed}\) exited with status 137 \(SIGKILL\).*; restarting in"), TimeSpan.FromSeconds(30));
        (alice, var reconnects) = await SayAsync(run, room, alice, "after the kill", TimeSpan.FromSeconds(90));
        var chatAgain = sinceKill.Elapsed;
        var (restarted, siloReady) = await siloBack;
        Assert.True(RunScriptProcess.IsRunning(restarted));
        await Poll.UntilAsync(async () => await ActiveSilosAsync(connectionString, run.SiloPorts) == 2, TimeSpan.FromSeconds(60));
        var twoActive = sinceKill.Elapsed;
        await alice.DisposeAsync();

        var tree = run.ProcessTree();
        var postmaster = run.PostmasterPid();
        Assert.NotNull(postmaster);
        var sinceInterrupt = Stopwatch.StartNew();
        await run.InterruptAsync();
        Assert.True(await run.WaitForExitAsync(TimeSpan.FromSeconds(90)), "run.sh did not exit after SIGINT:\n" + run.Output);
        var stopped = sinceInterrupt.Elapsed;
        Assert.Equal(0, run.ExitCode);
        int[] watched = [.. tree, postmaster.Value];
        await Poll.UntilAsync(() => !watched.Any(RunScriptProcess.IsRunning), TimeSpan.FromSeconds(10));

        output.WriteLine($"run.sh: {build}");
        output.WriteLine($"run.sh start -> gateway /readyz 200: {firstReady.TotalSeconds:F1} s");
        output.WriteLine($"kill -9 silo 1 -> chat works again: {chatAgain.TotalSeconds:F1} s ({reconnects} reconnects)");
        output.WriteLine($"kill -9 silo 1 -> restarted silo (pid {restarted}) /readyz 200: {siloReady.TotalSeconds:F1} s; 2 active silos in the membership table: {twoActive.TotalSeconds:F1} s");
        output.WriteLine($"SIGINT -> run.sh exited, {watched.Length} processes (run.sh, supervisors, silos, gateway, PostgreSQL) gone: {stopped.TotalSeconds:F1} s");
    }

    [Fact]
    public async Task Starting_run_sh_on_a_built_tree_serves_a_join_quickly()
    {
        await using var run = RunScriptProcess.Start(folder.Path, silos: 1);
        var build = (await run.WaitForLineAsync(BuildDecision, TimeSpan.FromSeconds(60))).Value;

        // The bound counts from the programs' start: had a source changed since `dotnet test` built,
        // run.sh builds first, which says nothing about starting.
        await SiloPidAsync(run, 1, TimeSpan.FromMinutes(5));
        var (client, attempts) = await SayAsync(run, NewRoom("start"), null, "hello", TimeSpan.FromSeconds(60));
        var joined = run.SinceStart.Elapsed;
        await client.DisposeAsync();

        output.WriteLine($"run.sh: {build}");
        output.WriteLine($"run.sh start -> first join (name -> ready) and message echoed: {joined.TotalSeconds:F1} s ({attempts} attempts failed while it started)");
    }

    [Fact]
    public async Task A_second_run_sh_in_the_same_checkout_refuses_to_start_and_the_first_keeps_serving()
    {
        await using var run = RunScriptProcess.Start(folder.Path, silos: 1);
        var siloPid = await SiloPidAsync(run, 1, TimeSpan.FromMinutes(5));
        var room = NewRoom("twice");
        var (first, _) = await SayAsync(run, room, null, "before the second", TimeSpan.FromSeconds(60));
        await using (first)
        {
            // The same data folder: the lock says who holds it.
            await using var second = run.StartAnother();
            Assert.True(await second.WaitForExitAsync(TimeSpan.FromSeconds(30)), "the second run.sh kept running");
            Assert.NotEqual(0, second.ExitCode);
            Assert.Contains($"another run.sh (pid {run.Pid}) is running with the data folder", second.Output);

            // Another data folder, the same ports: the port check names the one in use.
            var otherFolder = System.IO.Path.Combine(folder.Path, "other");
            await using var third = run.StartAnother(otherFolder);
            Assert.True(await third.WaitForExitAsync(TimeSpan.FromSeconds(30)), "the third run.sh kept running");
            Assert.NotEqual(0, third.ExitCode);
            Assert.Matches("port [0-9]+ is in use", third.Output);
            output.WriteLine($"second run.sh: {second.Output.Trim()}");
            output.WriteLine($"third run.sh: {third.Output.Trim()}");

            // The first one's silo, its PostgreSQL and its rooms are untouched.
            Assert.True(RunScriptProcess.IsRunning(siloPid));
            Assert.True(run.PostmasterPid() is { } postmaster && RunScriptProcess.IsRunning(postmaster));
            await first.SendAsync(new { message = "after the second" });
            await first.ExpectMessageAsync("after the second");
        }
    }

    [Fact]
    public async Task Run_sh_ha_serves_through_a_dead_primary_brings_it_back_as_the_standby_and_a_second_one_refuses()
    {
        var data = System.IO.Path.Combine(folder.Path, "ha");
        try
        {
            await using var run = RunScriptProcess.Start(data, silos: 1, ha: true);
            var siloPid = await SiloPidAsync(run, 1, TimeSpan.FromMinutes(5));
            var room = NewRoom("ha");
            var (first, _) = await SayAsync(run, room, null, "before the failover", TimeSpan.FromSeconds(90));
            await using (first)
            {
                await using var second = run.StartAnother();
                Assert.True(await second.WaitForExitAsync(TimeSpan.FromSeconds(30)), "the second run.sh --ha kept running");
                Assert.NotEqual(0, second.ExitCode);
                Assert.Contains($"another run.sh (pid {run.Pid}) is running with the data folder", second.Output);
                output.WriteLine($"second run.sh --ha: {second.Output.Trim()}");

                // The primary dies: the message sent right after it waits and arrives, on the same socket.
                var primary = (await HaScriptAsync("primary", data)).Trim();
                var killed = Stopwatch.StartNew();
                await HaScriptAsync("crash", data, primary);
                await first.SendAsync(new { message = "after the failover" });
                await first.ExpectMessageAsync("after the failover", TimeSpan.FromSeconds(30));
                output.WriteLine($"{primary} killed: a message sent right after it was relayed {killed.ElapsedMilliseconds} ms after the kill");

                // run.sh starts the dead node again, and it rejoins as the standby.
                var rejoined = await run.WaitForLineAsync(new Regex($@"^PostgreSQL nodes: .*{primary}:secondary/secondary"), TimeSpan.FromSeconds(60));
                output.WriteLine($"{rejoined.Value} ({killed.ElapsedMilliseconds} ms after the kill)");
                Assert.True(RunScriptProcess.IsRunning(siloPid));
            }

            // Ctrl-C stops the cluster run.sh started.
            await run.InterruptAsync();
            Assert.True(await run.WaitForExitAsync(TimeSpan.FromSeconds(90)), "run.sh --ha did not stop");
            Assert.Equal(["monitor", "node1", "node2"], (await HaScriptAsync("stopped", data)).Split('\n', StringSplitOptions.RemoveEmptyEntries));
        }
        finally
        {
            await HaScriptAsync("stop", data);
        }
    }

    private static async Task<string> HaScriptAsync(string command, string data, params string[] arguments)
    {
        var start = new ProcessStartInfo("bash", [RepositoryPaths.Of("scripts", "postgres-ha.sh"), command, data, .. arguments])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using var process = Process.Start(start)!;
        var error = process.StandardError.ReadToEndAsync();
        var printed = await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync();
        return process.ExitCode == 0 ? printed : throw new InvalidOperationException($"postgres-ha.sh {command} failed: {await error}");
    }

    private static async Task<int> SiloPidAsync(RunScriptProcess run, int silo, TimeSpan timeout) =>
        int.Parse((await run.WaitForLineAsync(SiloStarted, timeout, m => m.Groups["silo"].Value == silo.ToString())).Groups["pid"].Value);

    private static async Task<(int Pid, TimeSpan Ready)> RestartedSiloReadyAsync(RunScriptProcess run, int killed, Stopwatch sinceKill)
    {
        var restarted = await run.WaitForLineAsync(SiloStarted, TimeSpan.FromSeconds(60), m => m.Groups["silo"].Value == "1" && m.Groups["pid"].Value != killed.ToString());
        await UntilReadyAsync(run.SiloHttpUri(1), TimeSpan.FromSeconds(60));
        return (int.Parse(restarted.Groups["pid"].Value), sinceKill.Elapsed);
    }

    /// <summary>Silo: joined the cluster. Gateway: connected to the cluster, and PostgreSQL answers.</summary>
    private static async Task UntilReadyAsync(Uri program, TimeSpan timeout)
    {
        using var http = new HttpClient { BaseAddress = program, Timeout = TimeSpan.FromSeconds(5) };
        await Poll.UntilAsync(
            async () =>
            {
                try
                {
                    return (await http.GetAsync("/readyz")).StatusCode == HttpStatusCode.OK;
                }
                catch (Exception exception) when (exception is HttpRequestException or TaskCanceledException)
                {
                    // Not listening yet, or too busy starting to answer in time.
                    return false;
                }
            },
            timeout);
    }

    /// <summary>
    /// Says something in the room and waits for its echo, as a user would: on a socket closed under
    /// it (1012 when the room moved to another silo), an error frame or no answer, it reconnects, joins
    /// again and says it again, until the bound. Returns the client and how many attempts failed.
    /// </summary>
    private async Task<(TestChatClient Client, int Failures)> SayAsync(RunScriptProcess run, string room, TestChatClient? client, string text, TimeSpan bound)
    {
        var failures = 0;
        var lastProblem = "";
        await Poll.UntilAsync(
            async () =>
            {
                try
                {
                    if (client is null)
                    {
                        client = await TestChatClient.ConnectAsync(run.WebSocketUri(room));
                        await client.SendAsync(new { name = "alice" });
                        ThrowIfError(await client.ExpectAsync(f => TestChatClient.IsReady(f) || IsError(f)));
                    }

                    await client.SendAsync(new { message = text });
                    ThrowIfError(await client.ExpectAsync(f => TestChatClient.Str(f, "message") == text || IsError(f)));
                    return true;
                }
                catch (Exception exception) when (exception is WebSocketException or InvalidOperationException or TimeoutException or OperationCanceledException)
                {
                    // Reported once while it stays the same (a gateway not listening yet fails many times).
                    var problem = $"{exception.GetType().Name}: {exception.Message.Split('\n')[0]}";
                    if (problem != lastProblem)
                    {
                        output.WriteLine($"  '{text}', attempt {failures + 1}: {problem}");
                        lastProblem = problem;
                    }

                    if (client is not null)
                    {
                        await client.DisposeAsync();
                    }

                    client = null;
                    failures++;
                    return false;
                }
            },
            bound);
        return (client!, failures);
    }

    private static bool IsError(JsonElement frame) => frame.TryGetProperty("error", out _);

    private static void ThrowIfError((List<JsonElement> Before, JsonElement Match) read)
    {
        if (IsError(read.Match))
        {
            throw new InvalidOperationException("error frame: " + read.Match.GetRawText());
        }
    }

    private static async Task<long> ActiveSilosAsync(string connectionString, IReadOnlyList<int> siloPorts)
    {
        // Status 3 is Orleans' SiloStatus.Active; a killed silo's entry turns Dead (6).
        await using var dataSource = NpgsqlDataSource.Create(connectionString + ";Pooling=false;Timeout=5");
        await using var command = dataSource.CreateCommand("SELECT count(*) FROM orleansmembershiptable WHERE status = 3 AND port = ANY($1)");
        command.Parameters.Add(new NpgsqlParameter { Value = siloPorts.ToArray() });
        return (long)(await command.ExecuteScalarAsync())!;
    }
}
