using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Chat.Orleans.Bench.Load;

namespace Chat.Orleans.Bench.Suite;

/// <summary>
/// One set of joined sockets against one target, spread over load worker processes (each under the
/// per-process file limit, each from its own loopback address); send phases run on all of them at once.
/// </summary>
public sealed class LoadRun : IAsyncDisposable
{
    public const int SocketsPerWorker = 16_000;
    private static int s_nextSource = 2;

    private readonly IBenchTarget _target;
    private readonly List<BenchProcess> _workers;

    private LoadRun(IBenchTarget target, List<BenchProcess> workers, Aggregate joined)
    {
        _target = target;
        _workers = workers;
        Joined = joined;
    }

    public Aggregate Joined { get; }

    public IEnumerable<MeasuredProcess> Workers => _workers.Select(worker => new MeasuredProcess("generator", () => [worker.Id]));

    /// <param name="firstServer">Which of the target's servers the first worker talks to; workers take the next ones in turn.</param>
    /// <param name="connectConcurrency">Joins each worker keeps in flight while connecting.</param>
    public static async Task<LoadRun> StartAsync(Repository repository, IBenchTarget target, string roomPrefix, int rooms, int members, int firstServer = 0, int servers = 0, int connectConcurrency = 200, string? signingKey = null, bool rich = false)
    {
        servers = servers > 0 ? servers : Math.Max(1, (int)Math.Ceiling(rooms * members / (double)SocketsPerWorker));
        await target.EnsureServersAsync(firstServer + servers);
        // Whole workers per server, so that every server gets the same share of the sockets.
        var workersPerServer = (int)Math.Ceiling(rooms * members / (double)SocketsPerWorker / servers);
        var workerCount = servers * Math.Max(1, workersPerServer);
        var workers = new List<BenchProcess>();
        var firstRoom = 0;
        for (var w = 0; w < workerCount; w++)
        {
            var roomsOfWorker = rooms / workerCount + (w < rooms % workerCount ? 1 : 0);
            var source = Interlocked.Increment(ref s_nextSource) % 250 + 2;
            var plan = new LoadPlan("load", target.Endpoints[firstServer + w % servers], $"127.0.0.{source}", roomPrefix, firstRoom, roomsOfWorker, members, connectConcurrency, SigningKey: signingKey, Rich: rich);
            firstRoom += roomsOfWorker;
            workers.Add(BenchProcess.Start($"load-{w}", repository.Program("Bench"), ["load", JsonSerializer.Serialize(plan, BenchJson.Options)], new Dictionary<string, string>(), repository.Project("Bench")));
        }

        var joined = Aggregate.Of(await Task.WhenAll(workers.Select(worker => ReadReportAsync(worker, TimeSpan.FromMinutes(5)))));
        return new LoadRun(target, workers, joined);
    }

    /// <summary>Runs one phase on all workers; the processes' CPU is read around it.</summary>
    /// <param name="window">Stopwatch timestamps: deliveries received between them also go to <see cref="Aggregate.WindowLatency"/>.</param>
    public async Task<Aggregate> SendAsync(double ratePerClient, double seconds, IEnumerable<MeasuredProcess> alsoMeasured, (long From, long To)? window = null)
    {
        var measured = _target.Processes.Concat(Workers).Concat(alsoMeasured).ToArray();
        var cpuBefore = measured.Select(process => process.CpuSeconds()).ToArray();
        var started = Stopwatch.GetTimestamp();
        var command = string.Create(CultureInfo.InvariantCulture, $"send {ratePerClient} {seconds}");
        if (window is var (from, to))
        {
            command += string.Create(CultureInfo.InvariantCulture, $" {from} {to}");
        }

        await Task.WhenAll(_workers.Select(worker => worker.WriteLineAsync(command)));
        var result = Aggregate.Of(await Task.WhenAll(_workers.Select(worker => ReadReportAsync(worker, TimeSpan.FromSeconds(seconds + 60)))));
        var wall = Stopwatch.GetElapsedTime(started).TotalSeconds;
        result.CpuPercent = measured
            .Select((process, i) => (process.Role, Cpu: process.CpuSeconds() - cpuBefore[i]))
            .GroupBy(entry => entry.Role)
            .ToDictionary(group => group.Key, group => Math.Round(group.Sum(entry => entry.Cpu) / wall * 100));
        result.CpuSecondsTotal = measured.Select((process, i) => process.CpuSeconds() - cpuBefore[i]).Sum();
        return result;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var worker in _workers)
        {
            try
            {
                await worker.WriteLineAsync("exit");
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
                await worker.WaitForExitAsync(timeout.Token);
            }
            catch (Exception exception) when (exception is IOException or OperationCanceledException or InvalidOperationException)
            {
            }

            await worker.DisposeAsync();
        }

        await _target.SettleAsync();
    }

    public static async Task<WorkerReport> ReadReportAsync(BenchProcess worker, TimeSpan timeout)
    {
        var line = await worker.ReadLineAsync(timeout);
        return JsonSerializer.Deserialize<WorkerReport>(line, BenchJson.Options)
            ?? throw new InvalidOperationException($"{worker.Name} printed '{line}'");
    }
}

/// <summary>Worker reports added up: counts summed, latency histograms merged.</summary>
public sealed class Aggregate
{
    public required WorkerReport[] Reports { get; init; }

    public required LatencyHistogram Latency { get; init; }

    /// <summary>The deliveries received within the window the phase's command named (empty without one).</summary>
    public required LatencyHistogram WindowLatency { get; init; }

    public Dictionary<string, double> CpuPercent { get; set; } = [];

    public double CpuSecondsTotal { get; set; }

    public int Connected => Reports.Sum(report => report.Connected);

    public int Failed => Reports.Sum(report => report.Failed);

    public int Refused => Reports.Sum(report => report.Refused);

    public double Seconds => Reports.Max(report => report.Seconds);

    public long Sent => Reports.Sum(report => report.Sent);

    public long Skipped => Reports.Sum(report => report.Skipped);

    public long Rejected => Reports.Sum(report => report.Rejected);

    public long Expected => Reports.Sum(report => report.Expected);

    public long Delivered => Reports.Sum(report => report.Delivered);

    public long Lost => Math.Max(0, Expected - Delivered);

    public long Duplicates => Reports.Sum(report => report.Duplicates);

    public long OutOfOrder => Reports.Sum(report => report.OutOfOrder);

    public long Closed => Reports.Sum(report => report.Closed);

    public long HistoryShort => Reports.Sum(report => report.HistoryShort);

    public int SlowRooms => Reports.Sum(report => report.SlowRooms);

    public string? FirstError => Reports.Select(report => report.FirstError).FirstOrDefault(error => error is not null);

    /// <summary>Each room's slowest delivery of the phase, in µs, all workers' rooms together.</summary>
    public long[] RoomMaxMicroseconds => [.. Reports.SelectMany(report => report.RoomMaxMicroseconds ?? [])];

    public static Aggregate Of(IEnumerable<WorkerReport> reports)
    {
        var all = reports.ToArray();
        var latency = new LatencyHistogram();
        var window = new LatencyHistogram();
        foreach (var report in all)
        {
            latency.Add(report.Latency ?? [], report.MaxMicroseconds);
            window.Add(report.WindowLatency ?? [], report.WindowMaxMicroseconds);
        }

        return new Aggregate { Reports = all, Latency = latency, WindowLatency = window };
    }
}
