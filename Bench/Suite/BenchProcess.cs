using System.Diagnostics;
using System.Threading.Channels;

namespace Chat.Orleans.Bench.Suite;

/// <summary>
/// A child process of the suite: its stdout as lines, its stdin for commands, and its CPU time and
/// resident memory read from /proc, so every figure can be set beside what it cost.
/// </summary>
public sealed class BenchProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly Channel<string> _lines = Channel.CreateUnbounded<string>();
    private readonly Queue<string> _errors = new();
    private double? _cpuSecondsAtKill;

    private BenchProcess(string name, Process process)
    {
        Name = name;
        _process = process;
    }

    public string Name { get; }

    public int Id => _process.Id;

    public bool HasExited => _process.HasExited;

    /// <summary>The last lines of stderr, for a failure's report.</summary>
    public string Errors
    {
        get
        {
            lock (_errors)
            {
                return string.Join(Environment.NewLine, _errors);
            }
        }
    }

    public static BenchProcess Start(string name, string dll, IEnumerable<string> arguments, IDictionary<string, string> environment, string workingDirectory)
    {
        var start = new ProcessStartInfo("dotnet", [dll, .. arguments])
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var (key, value) in environment)
        {
            start.Environment[key] = value;
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException($"{name} did not start");
        var running = new BenchProcess(name, process);
        process.OutputDataReceived += (_, line) =>
        {
            if (line.Data is null)
            {
                running._lines.Writer.TryComplete();
            }
            else
            {
                running._lines.Writer.TryWrite(line.Data);
            }
        };
        process.ErrorDataReceived += (_, line) =>
        {
            if (line.Data is not null)
            {
                lock (running._errors)
                {
                    running._errors.Enqueue(line.Data);
                    if (running._errors.Count > 50)
                    {
                        running._errors.Dequeue();
                    }
                }
            }
        };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return running;
    }

    public async Task<string> ReadLineAsync(TimeSpan timeout)
    {
        using var cancellation = new CancellationTokenSource(timeout);
        try
        {
            return await _lines.Reader.ReadAsync(cancellation.Token);
        }
        catch (Exception exception) when (exception is OperationCanceledException or ChannelClosedException)
        {
            throw new InvalidOperationException($"{Name} printed nothing within {timeout.TotalSeconds:0} s (exited: {HasExited}). {Errors}", exception);
        }
    }

    public Task WriteLineAsync(string line) => _process.StandardInput.WriteLineAsync(line);

    public Task WaitForExitAsync(CancellationToken cancellation) => _process.WaitForExitAsync(cancellation);

    /// <summary>User plus system CPU seconds so far; after <see cref="Kill"/>, what it had used by then.</summary>
    public double CpuSeconds() => _cpuSecondsAtKill ?? ProcStat.CpuSeconds(_process.Id);

    /// <summary>
    /// SIGKILL to the process and its children, now: no shutdown of any kind. Its CPU time is read first,
    /// because its /proc entry goes with it and a phase that measures it is still running.
    /// </summary>
    public void Kill()
    {
        _cpuSecondsAtKill = ProcStat.CpuSeconds(_process.Id);
        _process.Kill(entireProcessTree: true);
    }

    public long ResidentBytes() => ProcStat.ResidentBytes(_process.Id);

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
        }

        await _process.WaitForExitAsync();
        _process.Dispose();
    }
}

/// <summary>Linux /proc readings.</summary>
public static class ProcStat
{
    private const double ClockTicksPerSecond = 100;

    public static double CpuSeconds(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");

            // Fields after the command name (which may hold spaces): utime and stime are the 12th and 13th.
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            return (long.Parse(fields[11]) + long.Parse(fields[12])) / ClockTicksPerSecond;
        }
        catch (IOException)
        {
            return 0;
        }
    }

    public static long ResidentBytes(int pid)
    {
        try
        {
            foreach (var line in File.ReadLines($"/proc/{pid}/status"))
            {
                if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
                {
                    return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]) * 1024;
                }
            }
        }
        catch (IOException)
        {
        }

        return 0;
    }

    /// <summary>The process and all its descendants (PostgreSQL's backends are children of the postmaster).</summary>
    public static IEnumerable<int> Tree(int root)
    {
        var children = new Dictionary<int, List<int>>();
        foreach (var directory in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(directory), out var pid))
            {
                continue;
            }

            try
            {
                var stat = File.ReadAllText(Path.Combine(directory, "stat"));
                var parent = int.Parse(stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[1]);
                if (!children.TryGetValue(parent, out var list))
                {
                    children[parent] = list = [];
                }

                list.Add(pid);
            }
            catch (IOException)
            {
            }
        }

        var pending = new Stack<int>([root]);
        while (pending.TryPop(out var pid))
        {
            yield return pid;
            if (children.TryGetValue(pid, out var list))
            {
                foreach (var child in list)
                {
                    pending.Push(child);
                }
            }
        }
    }
}
