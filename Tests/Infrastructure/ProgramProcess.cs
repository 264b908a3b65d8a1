using System.Diagnostics;

namespace Chat.Orleans.Tests.Infrastructure;

/// <summary>
/// One of the repository's programs (Silo, Gateway) as its own process, built alongside the tests in
/// the same configuration and run from its project folder (its content root), so a test can kill it
/// for real (SIGKILL).
/// </summary>
public sealed class ProgramProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly System.Collections.Concurrent.ConcurrentQueue<string> _output = new();

    private ProgramProcess(Process process) => _process = process;

    /// <summary>The last lines the program wrote (warnings and errors, and its rooms' catch-ups), for a failing test's report.</summary>
    public string Output => string.Join(Environment.NewLine, _output);

    /// <summary>The kept lines that mention <paramref name="text"/>, each starting with its UTC time (HH:mm:ss.fff).</summary>
    public IEnumerable<string> Mentioning(string text) => _output.Where(line => line.Contains(text, StringComparison.Ordinal));

    public bool HasExited => _process.HasExited;

    public int ExitCode => _process.ExitCode;

    public static ProgramProcess Start(string project, IDictionary<string, string?> settings, params string[] arguments)
    {
        var configuration = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar)).Parent!.Name;
        var program = RepositoryPaths.Of(project, "bin", configuration, "net10.0", $"Chat.Orleans.{project}.dll");
        var start = new ProcessStartInfo("dotnet", [program, .. arguments])
        {
            WorkingDirectory = RepositoryPaths.Of(project),
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var (key, value) in settings)
        {
            start.Environment[key.Replace(":", "__")] = value;
        }

        start.Environment["Logging__LogLevel__Default"] = "Warning";

        // The programs' own lines about rooms too (a gateway re-subscribing, say), one per line with the
        // time, so that a failing continuity test can put them beside the gateways' and the clients'.
        start.Environment["Logging__LogLevel__Chat.Orleans"] = "Information";
        start.Environment["Logging__Console__FormatterName"] = "simple";
        start.Environment["Logging__Console__FormatterOptions__SingleLine"] = "true";
        start.Environment["Logging__Console__FormatterOptions__TimestampFormat"] = "HH:mm:ss.fff ";
        start.Environment["Logging__Console__FormatterOptions__UseUtcTimestamp"] = "true";
        var process = Process.Start(start)!;
        var running = new ProgramProcess(process);
        process.OutputDataReceived += (_, line) => running.Keep(line.Data);
        process.ErrorDataReceived += (_, line) => running.Keep(line.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return running;
    }

    private void Keep(string? line)
    {
        if (line is null)
        {
            return;
        }

        _output.Enqueue(line);
        while (_output.Count > 5000 && _output.TryDequeue(out _))
        {
        }
    }

    /// <summary>SIGKILL: no shutdown, no flush, no goodbye to the cluster.</summary>
    public async Task KillAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
        }

        await _process.WaitForExitAsync();
    }

    /// <summary>SIGTERM, as a container runtime or a rolling upgrade stops a process: it shuts down gracefully.</summary>
    public async Task TerminateAsync(TimeSpan timeout)
    {
        if (!_process.HasExited)
        {
            using var term = Process.Start("kill", ["-TERM", _process.Id.ToString()])!;
            await term.WaitForExitAsync();
        }

        await _process.WaitForExitAsync().WaitAsync(timeout);
    }

    public async ValueTask DisposeAsync()
    {
        await KillAsync();
        _process.Dispose();
    }
}
