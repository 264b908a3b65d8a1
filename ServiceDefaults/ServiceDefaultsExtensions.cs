using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using OpenTelemetry.Metrics;

namespace Chat.Orleans.ServiceDefaults;

/// <summary>What every process of the chat exposes the same way: health and metrics.</summary>
public static class ServiceDefaultsExtensions
{
    /// <summary>The meters of our own code (see GatewayMetrics and RoomMetrics).</summary>
    public static readonly string[] ChatMeters = ["Chat.Gateway", "Chat.Silo"];

    public static IHostApplicationBuilder AddServiceDefaults(this IHostApplicationBuilder builder)
    {
        builder.Services.AddHealthChecks().AddCheck<HostStartedHealthCheck>("started", tags: ["ready"]);
        builder.Services.AddOpenTelemetry().WithMetrics(metrics => metrics
            .AddMeter(ChatMeters)
            .AddMeter("Microsoft.Orleans")
            .AddRuntimeInstrumentation()
            .AddPrometheusExporter());
        return builder;
    }

    /// <summary>
    /// <c>/healthz</c>: the process serves. <c>/readyz</c>: the checks tagged "ready" pass (for a gateway:
    /// cluster and database reachable). <c>/metrics</c>: Prometheus.
    /// </summary>
    public static WebApplication MapDefaultEndpoints(this WebApplication app)
    {
        app.MapHealthChecks("/healthz", new HealthCheckOptions { Predicate = _ => false });
        app.MapHealthChecks("/readyz", new HealthCheckOptions { Predicate = check => check.Tags.Contains("ready") });
        app.MapPrometheusScrapingEndpoint("/metrics");
        return app;
    }
}
