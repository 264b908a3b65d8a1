using Chat.Orleans.ServiceDefaults;
using Microsoft.Extensions.Options;

namespace Chat.Orleans.Silo.Schema;

/// <summary>Brings the database schema up to date before the silo joins the cluster.</summary>
internal sealed class SchemaInitializer(IConfiguration configuration, IOptions<ChatSiloOptions> options) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken) =>
        options.Value.ApplySchema
            ? DatabaseSchema.ApplyAsync(configuration.GetChatConnectionString(), cancellationToken)
            : Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
