using Chat.Orleans.ServiceDefaults;
using Chat.Orleans.Silo.Extensions;
using Microsoft.AspNetCore.Builder;
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

    public static async Task<ChatSilo> StartAsync(IDictionary<string, string?> settings)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions
        {
            ContentRootPath = RepositoryPaths.Of("Silo"),
            EnvironmentName = "Production",
        });
        builder.Configuration.AddInMemoryCollection(settings);
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.AddChatSilo();
        var host = builder.Build();
        host.MapDefaultEndpoints();
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
