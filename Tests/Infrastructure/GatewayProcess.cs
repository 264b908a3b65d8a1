namespace Chat.Orleans.Tests.Infrastructure;

/// <summary>The gateway program as its own process, so a test can kill it for real (SIGKILL).</summary>
public sealed class GatewayProcess : IAsyncDisposable
{
    private readonly ProgramProcess _process;

    private GatewayProcess(ProgramProcess process, Uri httpUri)
    {
        _process = process;
        HttpUri = httpUri;
    }

    public Uri HttpUri { get; }

    public Uri WebSocketUri(string room) => new($"ws://{HttpUri.Authority}/api/room/{Uri.EscapeDataString(room)}/websocket");

    /// <summary>Starts the gateway and waits until /readyz says it is connected to the cluster.</summary>
    public static async Task<GatewayProcess> StartAsync(IDictionary<string, string?> settings)
    {
        var httpUri = new Uri(settings.TryGetValue("Urls", out var urls) && urls is not null ? urls : $"http://127.0.0.1:{FreePort.Next()}");
        var process = ProgramProcess.Start("Gateway", settings, "--urls", httpUri.ToString());
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

    public Task KillAsync() => _process.KillAsync();

    public ValueTask DisposeAsync() => _process.DisposeAsync();
}
