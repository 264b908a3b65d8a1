using System.Net;
using Microsoft.AspNetCore.HttpOverrides;
using Microsoft.Extensions.Options;

namespace Chat.Orleans.Gateway.Extensions;

/// <summary>
/// The client's address (the key of the per-IP rate limit) comes from the connection, unless the
/// connection is a trusted proxy: then from CF-Connecting-IP (as the original reads it) or else
/// X-Forwarded-For.
/// </summary>
public static class ClientAddressExtensions
{
    public static WebApplicationBuilder AddClientAddress(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<ForwardedHeadersOptions>().Configure<IOptions<ChatGatewayOptions>>((forwarded, gateway) =>
        {
            var options = gateway.Value;

            // The defaults trust loopback.
            forwarded.ForwardedHeaders = ForwardedHeaders.XForwardedFor;
            if (!options.TrustLoopback)
            {
                forwarded.KnownProxies.Clear();
                forwarded.KnownIPNetworks.Clear();
#pragma warning disable ASPDEPR005 // The obsolete list still holds the loopback default and is still consulted.
                forwarded.KnownNetworks.Clear();
#pragma warning restore ASPDEPR005
            }

            foreach (var proxy in options.TrustedProxies)
            {
                forwarded.KnownProxies.Add(IPAddress.Parse(proxy));
            }

            foreach (var network in options.TrustedNetworks)
            {
                forwarded.KnownIPNetworks.Add(System.Net.IPNetwork.Parse(network));
            }
        });
        return builder;
    }

    /// <summary>First in the pipeline: everything after it reads the client's address.</summary>
    public static WebApplication UseClientAddress(this WebApplication app)
    {
        var forwarded = app.Services.GetRequiredService<IOptions<ForwardedHeadersOptions>>().Value;
#pragma warning disable ASPDEPR005
        if (forwarded.KnownProxies.Count == 0 && forwarded.KnownIPNetworks.Count == 0 && forwarded.KnownNetworks.Count == 0)
#pragma warning restore ASPDEPR005
        {
            // No trusted proxy at all. (The middleware would read empty lists as "trust everyone".)
            return app;
        }

        app.Use((context, next) =>
        {
            if (context.Request.Headers.TryGetValue("CF-Connecting-IP", out var header)
                && context.Connection.RemoteIpAddress is { } peer
                && IsTrusted(forwarded, peer)
                && IPAddress.TryParse(header.ToString(), out var client))
            {
                context.Connection.RemoteIpAddress = client;
                context.Request.Headers.Remove("X-Forwarded-For");
            }

            return next(context);
        });
        app.UseForwardedHeaders();
        return app;
    }

    private static bool IsTrusted(ForwardedHeadersOptions forwarded, IPAddress address)
    {
        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }

        if (forwarded.KnownProxies.Contains(address))
        {
            return true;
        }

        foreach (var network in forwarded.KnownIPNetworks)
        {
            if (network.Contains(address))
            {
                return true;
            }
        }

        return false;
    }
}
