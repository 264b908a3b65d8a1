using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Chat.Orleans.Gateway.Health;

/// <summary>Ready once the Orleans client has connected (the host starts only then; see AddChatGateway).</summary>
public sealed class ClusterHealthCheck(IHostApplicationLifetime lifetime) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(lifetime.ApplicationStarted.IsCancellationRequested
            ? HealthCheckResult.Healthy("Connected to the cluster.")
            : HealthCheckResult.Unhealthy("Not connected to the cluster yet."));
}
