using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;

namespace Chat.Orleans.Tests.Infrastructure;

/// <summary>
/// <c>run.sh</c> as an operator runs it: a bash process that starts PostgreSQL, silos and gateways, here on
/// free ports and in a data folder of the test's own, so it never meets a developer's chat on 8080.
/// </summary>
public sealed class RunScriptProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly int _siloHttpPort;
    private readonly int _clientPort;
    private readonly List<string> _lines = [];
    private readonly Lock _linesLock = new();
    private TaskCompletionSource _lineArrived = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private RunScriptProcess(Process process, int httpPort, int siloHttpPort, int siloPort, int clientPort, int silos, string dataFolder, bool ha)
    {
        _process = process;
        HighlyAvailable = ha;
        _siloHttpPort = siloHttpPort;
        _clientPort = clientPort;
        GatewayUri = new Uri($"http://localhost:{httpPort}");
        SiloPorts = [.. Enumerable.Range(siloPort, silos)];
        DataFolder = dataFolder;
    }

    /// <summary>Started with <c>--ha</c>: its PostgreSQL is scripts/postgres-ha.sh's.</summary>
    public bool HighlyAvailable { get; }

    /// <summary>Started with run.sh: the figures are measured from here.</summary>
    public Stopwatch SinceStart { get; } = Stopwatch.StartNew();

    public int Pid => _process.Id;

    public bool HasExited => _process.HasExited;

    public int ExitCode => _process.ExitCode;

    public Uri GatewayUri { get; }

    /// <summary>The silo-to-silo ports, as the cluster's membership table lists the silos.</summary>
    public IReadOnlyList<int> SiloPorts { get; }

    public string DataFolder { get; }

    /// <summary>The last lines run.sh and its programs wrote, for a failing test's report.</summary>
    public string Output
    {
        get
        {
            lock (_linesLock)
            {
                return string.Join(Environment.NewLine, _lines.TakeLast(60));
            }
        }
    }

    /// <param name="ha">Started with <c>--ha</c> (a highly available PostgreSQL in the data folder).</param>
    public static RunScriptProcess Start(string dataFolder, int silos, bool ha = false) =>
        // Silo n and gateway n use the base port + n - 1, so each base needs a run of free ports.
        Start(dataFolder, silos, FreePortRun(1), FreePortRun(silos), FreePortRun(silos), FreePortRun(silos), ha);

    /// <summary>A second run.sh with this one's ports and kind of PostgreSQL, in <paramref name="dataFolder"/> (by default this one's folder).</summary>
    public RunScriptProcess StartAnother(string? dataFolder = null) =>
        Start(dataFolder ?? DataFolder, SiloPorts.Count, GatewayUri.Port, _siloHttpPort, SiloPorts[0], _clientPort, HighlyAvailable);

    private static RunScriptProcess Start(string dataFolder, int silos, int httpPort, int siloHttpPort, int siloPort, int clientPort, bool ha)
    {
        string[] arguments =
        [
            "--silos", silos.ToString(), "--gateways", "1",
            "--http-port", httpPort.ToString(), "--silo-http-port", siloHttpPort.ToString(),
            "--silo-port", siloPort.ToString(), "--client-port", clientPort.ToString(),
            "--data", dataFolder, .. ha ? ["--ha"] : Array.Empty<string>(),
        ];

        // A process started in the background by a shell inherits SIGINT ignored, and bash cannot trap
        // a signal that was ignored when it started; the test sends SIGINT as a terminal's Ctrl-C does.
        var start = new ProcessStartInfo("env", ["--default-signal=INT", "bash", RepositoryPaths.Of("run.sh"), .. arguments])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        start.Environment.Remove("ConnectionStrings__Chat");
        start.Environment["Logging__LogLevel__Default"] = "Warning";

        var process = new Process { StartInfo = start, EnableRaisingEvents = true };
        var script = new RunScriptProcess(process, httpPort, siloHttpPort, siloPort, clientPort, silos, dataFolder, ha);
        process.OutputDataReceived += (_, line) => script.Keep(line.Data);
        process.ErrorDataReceived += (_, line) => script.Keep(line.Data);
        process.Exited += (_, _) => script.WakeWaiters();
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return script;
    }

    public Uri SiloHttpUri(int silo) => new($"http://localhost:{_siloHttpPort + silo - 1}");

    public Uri WebSocketUri(string room) => new($"ws://{GatewayUri.Authority}/api/room/{Uri.EscapeDataString(room)}/websocket");

    /// <summary>The first line matching the pattern, waiting for it if it has not come yet.</summary>
    public async Task<Match> WaitForLineAsync(Regex pattern, TimeSpan timeout, Func<Match, bool>? accept = null)
    {
        using var deadline = new CancellationTokenSource(timeout);
        var next = 0;
        while (true)
        {
            Task arrived;
            lock (_linesLock)
            {
                for (; next < _lines.Count; next++)
                {
                    var match = pattern.Match(_lines[next]);
                    if (match.Success && (accept is null || accept(match)))
                    {
                        return match;
                    }
                }

                arrived = _lineArrived.Task;
            }

            if (_process.HasExited)
            {
                throw new InvalidOperationException($"run.sh exited ({_process.ExitCode}) before printing /{pattern}/:\n{Output}");
            }

            try
            {
                await arrived.WaitAsync(deadline.Token);
            }
            catch (OperationCanceledException)
            {
                throw new TimeoutException($"run.sh did not print /{pattern}/ within {timeout}:\n{Output}");
            }
        }
    }

    /// <summary>run.sh and every process under it now (its supervisors, the silos and gateways, their sleeps).</summary>
    public IReadOnlyList<int> ProcessTree()
    {
        var tree = new List<int>();
        var pending = new Stack<int>([Pid]);
        while (pending.TryPop(out var pid))
        {
            tree.Add(pid);
            foreach (var task in SafeDirectories($"/proc/{pid}/task"))
            {
                var children = SafeRead(Path.Combine(task, "children"));
                foreach (var child in children.Split(' ', StringSplitOptions.RemoveEmptyEntries))
                {
                    pending.Push(int.Parse(child));
                }
            }
        }

        return tree;
    }

    /// <summary>The private PostgreSQL's server process, from its pid file.</summary>
    public int? PostmasterPid()
    {
        var first = SafeRead(Path.Combine(DataFolder, "data", "postmaster.pid")).Split('\n')[0];
        return int.TryParse(first, out var pid) ? pid : null;
    }

    /// <summary>True while the process exists and is not a zombie waiting for its parent.</summary>
    public static bool IsRunning(int pid)
    {
        // "pid (command) state ...": the state follows the command, which may itself contain ") ".
        var stat = SafeRead($"/proc/{pid}/stat");
        var end = stat.LastIndexOf(')');
        return end > 0 && end + 2 < stat.Length && stat[end + 2] is not ('Z' or 'X');
    }

    /// <summary>SIGINT, what Ctrl-C in a terminal sends.</summary>
    public async Task InterruptAsync()
    {
        using var kill = Process.Start("kill", ["-INT", Pid.ToString()])!;
        await kill.WaitForExitAsync();
    }

    public async Task<bool> WaitForExitAsync(TimeSpan timeout)
    {
        using var deadline = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(deadline.Token);
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    /// <summary>Stops run.sh as Ctrl-C would if the test did not; kills what is left if that fails.</summary>
    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            var tree = ProcessTree();
            await InterruptAsync();
            if (!await WaitForExitAsync(TimeSpan.FromSeconds(90)))
            {
                foreach (var pid in tree.Where(IsRunning))
                {
                    Process.GetProcessById(pid).Kill();
                }
            }
        }

        _process.Dispose();
    }

    private void Keep(string? line)
    {
        if (line is null)
        {
            return;
        }

        TaskCompletionSource arrived;
        lock (_linesLock)
        {
            _lines.Add(line);
            arrived = _lineArrived;
            _lineArrived = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }

        arrived.TrySetResult();
    }

    private void WakeWaiters()
    {
        lock (_linesLock)
        {
            _lineArrived.TrySetResult();
        }
    }

    /// <summary>The first of <paramref name="count"/> consecutive free loopback ports.</summary>
    private static int FreePortRun(int count)
    {
        while (true)
        {
            var first = FreePort.Next();
            if (Enumerable.Range(first + 1, count - 1).All(IsFree))
            {
                return first;
            }
        }
    }

    private static bool IsFree(int port)
    {
        try
        {
            using var listener = new TcpListener(IPAddress.Loopback, port);
            listener.Start();
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    private static IEnumerable<string> SafeDirectories(string path)
    {
        try
        {
            return Directory.GetDirectories(path);
        }
        catch (IOException)
        {
            return [];
        }
    }

    private static string SafeRead(string path)
    {
        try
        {
            return File.ReadAllText(path);
        }
        catch (IOException)
        {
            return "";
        }
        catch (UnauthorizedAccessException)
        {
            return "";
        }
    }
}
