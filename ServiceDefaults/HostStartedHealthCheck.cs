using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;

namespace Chat.Orleans.ServiceDefaults;

/// <summary>
/// Ready once the host has started: for a silo, it has joined the cluster; for a gateway, its Orleans
/// client has connected (the gateway's host finishes starting only then).
/// </summary>
public sealed class HostStartedHealthCheck(IHostApplicationLifetime lifetime) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(lifetime.ApplicationStarted.IsCancellationRequested
            ? HealthCheckResult.Healthy("Started.")
            : HealthCheckResult.Unhealthy("Still starting."));
}
