using Chat.Orleans.Gateway;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Chat.Orleans.Tests.Infrastructure;

/// <summary>The real gateway (Kestrel on a free loopback port, Orleans client), configured as Gateway/Program.cs does.</summary>
public sealed class ChatGateway : IAsyncDisposable
{
    private readonly WebApplication _app;
    private bool _stopped;

    private ChatGateway(WebApplication app, Task started, RecordedLog log)
    {
        _app = app;
        Started = started;
        Log = log;
    }

    /// <summary>The gateway's own log lines, with their times (for a failing test's report).</summary>
    public RecordedLog Log { get; }

    /// <summary>Completes when the gateway is connected to the cluster; Kestrel serves before that.</summary>
    public Task Started { get; }

    public IClusterClient Client => _app.Services.GetRequiredService<IClusterClient>();

    public IServiceProvider Services => _app.Services;

    public Uri HttpUri { get; private set; } = null!;

    public Uri WebSocketUri(string room) => new($"ws://{HttpUri.Authority}/api/room/{Uri.EscapeDataString(room)}/websocket");

    /// <summary>Starts a gateway and waits until it is connected to the cluster.</summary>
    public static async Task<ChatGateway> StartAsync(IDictionary<string, string?> settings)
    {
        var gateway = await StartServingAsync(settings);
        try
        {
            await gateway.Started.WaitAsync(TimeSpan.FromSeconds(60));
        }
        catch (TimeoutException)
        {
            await gateway.DisposeAsync();
            throw new TimeoutException("The gateway did not connect to the cluster within 60 s.");
        }

        return gateway;
    }

    /// <summary>Starts a gateway and returns as soon as Kestrel serves, connected to the cluster or not.</summary>
    public static async Task<ChatGateway> StartServingAsync(IDictionary<string, string?> settings)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions
        {
            ContentRootPath = RepositoryPaths.Of("Gateway"),
            WebRootPath = RepositoryPaths.Of("Gateway", "wwwroot"),
            EnvironmentName = "Production",
        });
        builder.Configuration.AddInMemoryCollection(settings);
        if (!settings.ContainsKey("Urls"))
        {
            builder.Configuration["Urls"] = "http://127.0.0.1:0";
        }
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        var log = new RecordedLog();
        builder.Logging.AddProvider(log);
        builder.Logging.AddFilter<RecordedLog>(RecordedLog.Categories, LogLevel.Information);
        var app = Gateway.Program.Build(builder);

        var serving = new TaskCompletionSource();
        var server = app.Services.GetRequiredService<IServer>();
        var started = Task.Run(() => app.StartAsync());
        var gateway = new ChatGateway(app, started, log);

        // Kestrel binds before the Orleans client connects; wait for the bound address.
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (true)
        {
            var address = server.Features.Get<IServerAddressesFeature>()?.Addresses.FirstOrDefault(a => !a.EndsWith(":0", StringComparison.Ordinal));
            if (address is not null)
            {
                gateway.HttpUri = new Uri(address);
                return gateway;
            }

            if (started.IsFaulted)
            {
                await started;
            }

            await Task.Delay(20, timeout.Token);
        }
    }

    public async Task StopAsync()
    {
        if (_stopped)
        {
            return;
        }

        _stopped = true;
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await _app.StopAsync(timeout.Token);
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        await _app.DisposeAsync();
    }
}
