using System.Net;
using Chat.Orleans.Gateway.Health;
using Chat.Orleans.Gateway.Rooms;
using Chat.Orleans.Gateway.Sessions;
using Chat.Orleans.ServiceDefaults;
using Microsoft.AspNetCore.HttpOverrides;
using Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets;
using Npgsql;
using Orleans.Configuration;

namespace Chat.Orleans.Gateway.Extensions;

public static partial class GatewayExtensions
{
    /// <summary>The gateway: options, the Orleans client, room subscriptions and client addresses.</summary>
    public static WebApplicationBuilder AddChatGateway(this WebApplicationBuilder builder)
    {
        var connectionString = builder.Configuration.GetConnectionString("Chat")
            ?? throw new InvalidOperationException("ConnectionStrings:Chat (env ConnectionStrings__Chat) is not set.");
        var options = builder.Configuration.GetSection(GatewayOptions.Section).Get<GatewayOptions>() ?? new();

        builder.Services.AddOptions<GatewayOptions>().BindConfiguration(GatewayOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddSingleton(_ => NpgsqlDataSource.Create(connectionString));
        builder.Services.AddSingleton<RoomIds>();
        builder.Services.AddSingleton<RoomRegistry>();
        builder.Services.AddHostedService(services => services.GetRequiredService<RoomRegistry>());
        builder.AddChatClientAddress(options);
        builder.AddServiceDefaults();
        builder.Services.AddHealthChecks().AddCheck<DatabaseHealthCheck>("database", tags: ["ready"]);
        builder.Services.AddSingleton<GatewayMetrics>();
        var socketLimit = new SocketLimit(options);
        builder.Services.AddSingleton(socketLimit);
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            // Connections beyond the chat sockets (page loads, health checks, upgrades in progress)
            // get half the reserve; Kestrel closes the ones past that at once, so the process keeps
            // descriptors to spare (SocketLimit answers the chat sockets past theirs with 503).
            if (socketLimit.Max < int.MaxValue - options.FileReserve)
            {
                kestrel.Limits.MaxConcurrentConnections = socketLimit.Max + options.FileReserve / 2;
            }
        });
        if (options.SocketSendBufferBytes > 0)
        {
            // Accepted sockets inherit the listening socket's buffer size.
            builder.WebHost.UseSockets(sockets => sockets.CreateBoundListenSocket = endpoint =>
            {
                var socket = SocketTransportOptions.CreateDefaultBoundListenSocket(endpoint);
                socket.SendBufferSize = options.SocketSendBufferBytes;
                return socket;
            });
        }

        // Kestrel serves while the Orleans client is still looking for a silo: hosted services start
        // concurrently, and sockets opened before the client connects get a clear error frame.
        builder.Services.Configure<HostOptions>(host => host.ServicesStartConcurrently = true);
        builder.UseOrleansClient(client =>
        {
            client.Configure<ClusterOptions>(builder.Configuration.GetSection("Orleans"));
            client.Configure<ClientMessagingOptions>(messaging => messaging.ResponseTimeout = options.CallTimeout);
            client.Configure<global::Orleans.Configuration.GatewayOptions>(builder.Configuration.GetSection("Orleans:Gateways"));
            client.UseAdoNetClustering(clustering =>
            {
                clustering.Invariant = "Npgsql";
                clustering.ConnectionString = connectionString;
            });
            client.UseConnectionRetryFilter(async (exception, cancellationToken) =>
            {
                await Task.Delay(TimeSpan.FromSeconds(1), cancellationToken);
                return true;
            });
        });

        return builder;
    }

    /// <summary>
    /// The client's address comes from the connection, unless the connection is a trusted proxy: then
    /// from CF-Connecting-IP (as the original reads it) or else X-Forwarded-For.
    /// </summary>
    private static void AddChatClientAddress(this WebApplicationBuilder builder, GatewayOptions options)
    {
        builder.Services.Configure<ForwardedHeadersOptions>(forwarded =>
        {
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
    }

    public static WebApplication UseChatClientAddress(this WebApplication app)
    {
        var forwarded = app.Services.GetRequiredService<Microsoft.Extensions.Options.IOptions<ForwardedHeadersOptions>>().Value;
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
