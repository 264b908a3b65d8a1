using System.Diagnostics;

namespace Chat.Orleans.Tests.Infrastructure;

/// <summary>The gateway program as its own process, so a test can kill it for real (SIGKILL).</summary>
public sealed class GatewayProcess : IAsyncDisposable
{
    private readonly Process _process;

    private GatewayProcess(Process process, Uri httpUri)
    {
        _process = process;
        HttpUri = httpUri;
    }

    public Uri HttpUri { get; }

    public Uri WebSocketUri(string room) => new($"ws://{HttpUri.Authority}/api/room/{Uri.EscapeDataString(room)}/websocket");

    /// <summary>Starts the gateway and waits until /readyz says it is connected to the cluster.</summary>
    public static async Task<GatewayProcess> StartAsync(IDictionary<string, string?> settings)
    {
        var configuration = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar)).Parent!.Name;
        var program = RepositoryPaths.Of("Gateway", "bin", configuration, "net10.0", "Chat.Orleans.Gateway.dll");
        var httpUri = new Uri(settings.TryGetValue("Urls", out var urls) && urls is not null ? urls : $"http://127.0.0.1:{FreePort.Next()}");
        var start = new ProcessStartInfo("dotnet", [program, "--urls", httpUri.ToString()])
        {
            WorkingDirectory = RepositoryPaths.Of("Gateway"),
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var (key, value) in settings)
        {
            start.Environment[key.Replace(":", "__")] = value;
        }

        start.Environment["Logging__LogLevel__Default"] = "Warning";
        var process = Process.Start(start)!;
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var gateway = new GatewayProcess(process, httpUri);

        // Readiness is what a load balancer would wait for, too.
        using var http = new HttpClient { BaseAddress = httpUri };
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        using var tick = new PeriodicTimer(TimeSpan.FromMilliseconds(100));
        while (await tick.WaitForNextTickAsync(deadline.Token))
        {
            try
            {
                if ((await http.GetAsync("/readyz", deadline.Token)).IsSuccessStatusCode)
                {
                    return gateway;
                }
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }

            if (process.HasExited)
            {
                throw new InvalidOperationException("The gateway process exited with " + process.ExitCode);
            }
        }

        throw new TimeoutException("The gateway did not become ready.");
    }

    public async Task KillAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
        }

        await _process.WaitForExitAsync();
    }

    public async ValueTask DisposeAsync()
    {
        await KillAsync();
        _process.Dispose();
    }
}
