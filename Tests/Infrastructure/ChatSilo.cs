using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Chat.Orleans.Tests.Infrastructure;

/// <summary>A real silo, configured exactly as Silo/Program.cs configures it, in this process.</summary>
public sealed class ChatSilo : IAsyncDisposable
{
    private readonly WebApplication _host;

    private ChatSilo(WebApplication host) => _host = host;

    public IServiceProvider Services => _host.Services;

    /// <summary>The silo's HTTP endpoint (health, metrics, dashboard).</summary>
    public Uri HttpUri => new(_host.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());

    public static async Task<ChatSilo> StartAsync(IDictionary<string, string?> settings)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions
        {
            ContentRootPath = RepositoryPaths.Of("Silo"),
            EnvironmentName = "Production",
        });
        builder.Configuration.AddInMemoryCollection(settings);
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        var host = Silo.Program.Build(builder);
        await host.StartAsync();
        return new ChatSilo(host);
    }

    public async Task StopAsync()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await _host.StopAsync(timeout.Token);
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        await _host.DisposeAsync();
    }
}
