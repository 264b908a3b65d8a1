using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Chat.Orleans.Bench.Suite;

/// <summary>Where the suite finds the repository's programs and scripts.</summary>
public sealed class Repository(string root)
{
    public string Root { get; } = root;

    public static Repository Find()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "Chat.Orleans.sln")))
            {
                return new Repository(directory.FullName);
            }
        }

        throw new InvalidOperationException("Chat.Orleans.sln not found above " + AppContext.BaseDirectory);
    }

    public string Project(string name) => Path.Combine(Root, name);

    /// <summary>The programs run from the build the suite itself came from (Release by default).</summary>
    public string Program(string project)
    {
        var configuration = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar)).Parent!.Name;
        return Path.Combine(Root, project, "bin", configuration, "net10.0", $"Chat.Orleans.{project}.dll");
    }
}

/// <summary>A process the suite measures: its name in the reports, and its pids (PostgreSQL is a tree).</summary>
/// <param name="Cpu">Its CPU seconds when not read from the pids: for a process the suite may kill during a phase.</param>
public sealed record MeasuredProcess(string Role, Func<IEnumerable<int>> Pids, Func<double>? Cpu = null)
{
    public double CpuSeconds() => Cpu is null ? Pids().Sum(ProcStat.CpuSeconds) : Cpu();

    public long ResidentBytes() => Pids().Sum(ProcStat.ResidentBytes);
}

/// <summary>The system under test: a name, the WebSocket endpoints it serves, and its processes.</summary>
public interface IBenchTarget
{
    string Name { get; }

    IReadOnlyList<string> Endpoints { get; }

    IEnumerable<MeasuredProcess> Processes { get; }

    /// <summary>Makes sure at least this many server processes serve sockets.</summary>
    Task EnsureServersAsync(int count);

    /// <summary>Waits until the servers have let go of the last run's sockets.</summary>
    Task SettleAsync();
}

public static class Ports
{
    public static int Free()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>Starts one of the repository's programs on a free loopback port; returns once its health path answers 200.</summary>
    public static async Task<(BenchProcess Process, string Http)> StartServerAsync(
        string name, Repository repository, string project, string[] arguments, IDictionary<string, string> environment, string healthPath)
    {
        var http = $"http://127.0.0.1:{Free()}";
        var process = BenchProcess.Start(name, repository.Program(project), [.. arguments, "--urls", http], environment, repository.Project(project));
        await WaitHealthyAsync(http + healthPath, process, TimeSpan.FromSeconds(60));
        return (process, http);
    }

    /// <summary>Waits for a 200 from a health endpoint.</summary>
    public static async Task WaitHealthyAsync(string url, BenchProcess process, TimeSpan timeout)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        var started = Stopwatch.GetTimestamp();
        while (Stopwatch.GetElapsedTime(started) < timeout)
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException($"{process.Name} exited: {process.Errors}");
            }

            try
            {
                if ((await http.GetAsync(url)).IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (Exception exception) when (exception is HttpRequestException or TaskCanceledException)
            {
            }

            await Task.Delay(100);
        }

        throw new TimeoutException($"{process.Name} was not healthy at {url} within {timeout}: {process.Errors}");
    }

    /// <summary>Reads the sum of one metric's samples from a Prometheus text page.</summary>
    public static async Task<double> ScrapeAsync(string metricsUrl, string metric)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        var page = await http.GetStringAsync(metricsUrl);
        double sum = 0;
        foreach (var line in page.Split('\n'))
        {
            if (line.StartsWith(metric, StringComparison.Ordinal) && line.Length > metric.Length && line[metric.Length] is ' ' or '{')
            {
                sum += double.Parse(line[(line.LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture);
            }
        }

        return sum;
    }
}

/// <summary>The floor: one bare Kestrel broadcast server per ~16k sockets, like the gateways.</summary>
public sealed class FloorTarget(Repository repository) : IBenchTarget, IAsyncDisposable
{
    private readonly List<(BenchProcess Process, string Endpoint)> _servers = [];

    public string Name => "floor";

    public IReadOnlyList<string> Endpoints => [.. _servers.Select(server => server.Endpoint)];

    public IEnumerable<MeasuredProcess> Processes =>
        _servers.Select(server => new MeasuredProcess("floor", () => [server.Process.Id]));

    public async Task EnsureServersAsync(int count)
    {
        while (_servers.Count < count)
        {
            var (process, http) = await Ports.StartServerAsync(
                $"floor-{_servers.Count}", repository, "Bench", ["floor"], new Dictionary<string, string> { ["DOTNET_gcServer"] = "1" }, "/healthz");
            _servers.Add((process, http.Replace("http:", "ws:", StringComparison.Ordinal)));
        }
    }

    public Task SettleAsync() => Task.CompletedTask;

    public async ValueTask DisposeAsync()
    {
        foreach (var (process, _) in _servers)
        {
            await process.DisposeAsync();
        }
    }
}

/// <summary>One silo process of the chat, and its HTTP address (health, metrics).</summary>
public sealed record ChatSilo(BenchProcess Process, string Http)
{
    public string Name => Process.Name;

    public string Metrics => $"{Http}/metrics";
}

/// <summary>
/// The chat: a private PostgreSQL (fsync on), one silo (a second one for the failover), and as many
/// gateways as the sockets need. Highly available, its PostgreSQL is scripts/postgres-ha.sh's (a
/// monitor, a primary and a synchronous standby) instead of scripts/postgres.sh's.
/// </summary>
public sealed class ChatTarget : IBenchTarget, IAsyncDisposable
{
    /// <summary>The gateways' sign-in key (open mode: anonymous clients as before; verified rows sign in with it).</summary>
    public const string SigningKey = "the-benchmark-suite-signing-key-of-32-bytes";

    private readonly Repository _repository;
    private readonly string _dataDirectory;
    private readonly Dictionary<string, string> _environment;
    private readonly List<(BenchProcess Process, string Endpoint, string Http)> _gateways = [];

    // The silos in the cluster, and those the suite killed (kept for their warnings, disposed at the end).
    private readonly List<ChatSilo> _silos = [];
    private readonly List<ChatSilo> _killed = [];
    private readonly string _postgresScript;
    private int[] _postmasterPids = [];

    private ChatTarget(Repository repository, string dataDirectory, string connectionString, bool highlyAvailable)
    {
        _repository = repository;
        _dataDirectory = dataDirectory;
        _postgresScript = highlyAvailable ? "postgres-ha.sh" : "postgres.sh";
        var cluster = "bench-" + DateTime.UtcNow.ToString("yyyyMMddHHmmss", CultureInfo.InvariantCulture);
        _environment = new()
        {
            ["ConnectionStrings__Chat"] = connectionString,
            ["Orleans__ClusterId"] = cluster,
            ["Orleans__ServiceId"] = "bench",
            ["Logging__LogLevel__Default"] = "Warning",
            ["Chat__Gateway__RateLimitEnabled"] = "false",
            // The load workers open thousands of sockets from each of a few loopback addresses.
            ["Chat__Gateway__MaxSocketsPerIp"] = "0",
            ["Chat__Gateway__JoinsPerIpPerSecond"] = "0",
            ["Chat__Auth__SigningKeys__0"] = SigningKey,

            // Warnings to stderr, which the suite keeps for its reports.
            ["Logging__Console__LogToStandardErrorThreshold"] = "Warning",
        };
    }

    public string Name => "chat";

    /// <summary>The PostgreSQL's folder (another target's goes next to it).</summary>
    public string DataDirectory => _dataDirectory;

    /// <summary>The silos in the cluster, in the order they started.</summary>
    public IReadOnlyList<ChatSilo> Silos => _silos;

    /// <summary>The last warnings of every silo (killed ones too) and the gateways, for a scenario that saw failures.</summary>
    public string Warnings => string.Join(Environment.NewLine, _silos.Concat(_killed).Select(silo => silo.Process).Concat(_gateways.Select(gateway => gateway.Process))
        .Select(process => $"{process.Name}: {process.Errors}"));

    public IReadOnlyList<string> Endpoints => [.. _gateways.Select(gateway => gateway.Endpoint)];

    /// <summary>All silos under one role; a silo killed during a phase counts with the CPU it had used until then.</summary>
    public IEnumerable<MeasuredProcess> Processes =>
    [
        .. _silos.Select(silo => new MeasuredProcess("silo", () => [silo.Process.Id], silo.Process.CpuSeconds)),
        .. _gateways.Select(gateway => new MeasuredProcess("gateway", () => [gateway.Process.Id])),
        // Highly available: both data nodes' servers (the standby applies every write too); the monitor is left out.
        new("postgres", () => [.. _postmasterPids.SelectMany(ProcStat.Tree)]),
    ];

    /// <param name="highlyAvailable">On scripts/postgres-ha.sh's cluster rather than one PostgreSQL.</param>
    public static async Task<ChatTarget> StartAsync(Repository repository, string dataDirectory, bool highlyAvailable = false)
    {
        var script = highlyAvailable ? "postgres-ha.sh" : "postgres.sh";
        var connectionString = (await RunScriptAsync(repository, script, "start", dataDirectory)).Trim().Split('\n').Last();
        string[] servers = highlyAvailable ? ["node1", "node2"] : ["data"];
        var target = new ChatTarget(repository, dataDirectory, connectionString, highlyAvailable)
        {
            _postmasterPids = [.. servers.Select(server => int.Parse(File.ReadLines(Path.Combine(dataDirectory, server, "postmaster.pid")).First(), CultureInfo.InvariantCulture))],
        };

        await target.AddSiloAsync();
        return target;
    }

    /// <summary>
    /// Kills the PostgreSQL primary of a highly available target the hard way (its keeper and server at
    /// once, no shutdown checkpoint); returns the Stopwatch timestamp of the kill and the node killed.
    /// </summary>
    public async Task<(long KilledAt, string Node)> KillPrimaryAsync()
    {
        var node = (await RunScriptAsync(_repository, _postgresScript, "primary", _dataDirectory)).Trim();
        var killedAt = Stopwatch.GetTimestamp();
        await RunScriptAsync(_repository, _postgresScript, "crash", _dataDirectory, node);
        return (killedAt, node);
    }

    private static async Task<string> RunScriptAsync(Repository repository, string script, params string[] arguments)
    {
        using var process = Process.Start(new ProcessStartInfo("bash", [Path.Combine(repository.Root, "scripts", script), .. arguments])
        {
            RedirectStandardOutput = true,
        })!;
        var output = await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync();
        return process.ExitCode == 0 ? output : throw new InvalidOperationException($"scripts/{script} {arguments[0]} failed");
    }

    /// <summary>
    /// Starts one more silo with the same settings and its own ports; returns once it is active in the
    /// cluster. Its /readyz answers only after the host has started, and the silo's host finishes starting
    /// only once the silo has joined the membership as active.
    /// </summary>
    public async Task<ChatSilo> AddSiloAsync()
    {
        var (process, http) = await Ports.StartServerAsync(
            $"silo-{_silos.Count + _killed.Count}",
            _repository,
            "Silo",
            [],
            new Dictionary<string, string>(_environment)
            {
                ["Chat__Silo__SiloPort"] = Ports.Free().ToString(CultureInfo.InvariantCulture),
                ["Chat__Silo__ClientPort"] = Ports.Free().ToString(CultureInfo.InvariantCulture),
            },
            "/readyz");
        var silo = new ChatSilo(process, http);
        _silos.Add(silo);
        return silo;
    }

    /// <summary>
    /// Kills a silo (SIGKILL, no shutdown: its rooms are not deactivated, its membership entry stays until
    /// the others declare it dead) and returns the Stopwatch timestamp of the kill. The others carry on.
    /// </summary>
    public async Task<long> KillSiloAsync(ChatSilo silo)
    {
        // Taken before the call: killing a tree first stops the process (SIGSTOP), then reads every
        // process in /proc to find its children, and only then sends SIGKILL.
        var killedAt = Stopwatch.GetTimestamp();
        silo.Process.Kill();
        _silos.Remove(silo);
        _killed.Add(silo);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await silo.Process.WaitForExitAsync(timeout.Token);
        return killedAt;
    }

    /// <summary>The sum of one metric over the silos in the cluster (each silo counts its own rooms and writes).</summary>
    public async Task<double> ScrapeSilosAsync(string metric) =>
        (await Task.WhenAll(_silos.Select(silo => Ports.ScrapeAsync(silo.Metrics, metric)))).Sum();

    public async Task EnsureServersAsync(int count)
    {
        while (_gateways.Count < count)
        {
            var (process, http) = await Ports.StartServerAsync($"gateway-{_gateways.Count}", _repository, "Gateway", [], _environment, "/readyz");
            _gateways.Add((process, http.Replace("http:", "ws:", StringComparison.Ordinal), http));
        }
    }

    public async Task SettleAsync()
    {
        var started = Stopwatch.GetTimestamp();
        foreach (var gateway in _gateways)
        {
            while (await Ports.ScrapeAsync($"{gateway.Http}/metrics", "chat_sockets_open") > 0 && Stopwatch.GetElapsedTime(started) < TimeSpan.FromSeconds(60))
            {
                await Task.Delay(200);
            }
        }

        // Empty rooms deactivate (and write their state) after the sockets are gone: that work must
        // not run into the next scenario.
        // Done when none are left, or when the count has not moved for a second (a few rooms may
        // stay for their subscription lease).
        var active = double.MaxValue;
        var still = 0;
        while (Stopwatch.GetElapsedTime(started) < TimeSpan.FromSeconds(60))
        {
            var now = await ScrapeSilosAsync("chat_rooms_active");
            still = now == active ? still + 1 : 0;
            active = now;
            if (active == 0 || still >= 4)
            {
                break;
            }

            await Task.Delay(250);
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var (process, _, _) in _gateways)
        {
            await process.DisposeAsync();
        }

        foreach (var silo in _silos.Concat(_killed))
        {
            await silo.Process.DisposeAsync();
        }

        await RunScriptAsync(_repository, _postgresScript, "stop", _dataDirectory);
    }
}
