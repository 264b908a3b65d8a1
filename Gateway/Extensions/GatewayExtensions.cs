using Chat.Orleans.Gateway.Auth;
using Chat.Orleans.Gateway.Connections;
using Chat.Orleans.Gateway.Moderation;
using Chat.Orleans.Gateway.Health;
using Chat.Orleans.Gateway.Rooms;
using Chat.Orleans.Gateway.Sessions;
using Chat.Orleans.ServiceDefaults;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets;
using Microsoft.Extensions.Options;
using Npgsql;
using Orleans.Configuration;

namespace Chat.Orleans.Gateway.Extensions;

/// <summary>The gateway's wiring, one step per method, in the order Program.cs calls them.</summary>
public static class GatewayExtensions
{
    /// <summary><see cref="ChatGatewayOptions"/> from <c>Chat:Gateway</c>, bound once and validated at start.</summary>
    public static WebApplicationBuilder AddGatewayOptions(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<ChatGatewayOptions>()
            .BindConfiguration(ChatGatewayOptions.Section)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        return builder;
    }

    /// <summary>
    /// <see cref="AuthOptions"/> from <c>Chat:Auth</c>, validated at start (a bad key fails the boot with its
    /// name), and the token verifier built from them once.
    /// </summary>
    public static WebApplicationBuilder AddAuth(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<AuthOptions>()
            .BindConfiguration(AuthOptions.Section)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        builder.Services.AddSingleton<IValidateOptions<AuthOptions>, AuthOptionsValidator>();
        builder.Services.AddSingleton<TokenVerifier>();
        return builder;
    }

    /// <summary>Bans and mutes (held in memory, kept current from the database), the audit log, and the sessions' rules.</summary>
    public static WebApplicationBuilder AddModeration(this WebApplicationBuilder builder)
    {
        builder.Services.AddSingleton<BanStore>();
        builder.Services.AddSingleton<BanList>();
        builder.Services.AddSingleton<AuditLog>();
        builder.Services.AddSingleton<SessionDirectory>();
        builder.Services.AddSingleton<SessionPolicy>();
        builder.Services.AddSingleton<BanWatcher>();
        builder.Services.AddHostedService(services => services.GetRequiredService<BanWatcher>());
        return builder;
    }

    /// <summary>The Orleans client: ADO.NET clustering on the chat's PostgreSQL, retrying until a silo answers.</summary>
    public static WebApplicationBuilder AddOrleansClient(this WebApplicationBuilder builder)
    {
        // Kestrel serves while the Orleans client is still looking for a silo: hosted services start
        // concurrently, and sockets opened before the client connects wait for it (StartupJoinTimeout).
        builder.Services.Configure<HostOptions>(host => host.ServicesStartConcurrently = true);
        builder.UseOrleansClient(client =>
        {
            client.Configure<ClusterOptions>(builder.Configuration.GetSection("Orleans"));
            client.Configure<GatewayOptions>(builder.Configuration.GetSection("Orleans:Gateways"));
            client.Services.AddOptions<ClientMessagingOptions>()
                .Configure<IOptions<ChatGatewayOptions>>((messaging, options) => messaging.ResponseTimeout = options.Value.CallTimeout);
            // Through the gateway's one data source (AddDatabase), which follows the primary.
            client.UseAdoNetClustering(options => options.Configure<NpgsqlDataSource>((clustering, dataSource) =>
            {
                clustering.Invariant = "Npgsql";
                clustering.DataSource = dataSource;
            }));
            client.AddGatewayCountChangedHandler(services => services.GetRequiredService<SiloConnections>().OnGatewayCountChanged);
            client.UseConnectionRetryFilter(async (exception, cancellationToken) =>
            {
                await Task.Delay(TimeSpan.FromSeconds(1), cancellationToken);
                return true;
            });
        });
        return builder;
    }

    /// <summary>
    /// The chat's PostgreSQL, one data source for the program: the cluster's membership table, the room-id
    /// key, bans, the audit log and readiness. With several hosts in the connection string it follows the
    /// primary (scripts/postgres-ha.sh).
    /// </summary>
    public static WebApplicationBuilder AddDatabase(this WebApplicationBuilder builder)
    {
        var connectionString = builder.Configuration.GetChatConnectionString();
        builder.Services.AddSingleton(_ => NpgsqlDataSource.Create(connectionString));
        return builder;
    }

    /// <summary>One observer per room with members here, renewed in the background.</summary>
    public static WebApplicationBuilder AddRoomSubscriptions(this WebApplicationBuilder builder)
    {
        builder.Services.AddSingleton<SiloConnections>();
        builder.Services.AddSingleton<RoomRegistry>();
        builder.Services.AddHostedService(services => services.GetRequiredService<RoomRegistry>());
        return builder;
    }

    /// <summary>What a chat socket needs: private room ids and the sessions themselves.</summary>
    public static WebApplicationBuilder AddChatSessions(this WebApplicationBuilder builder)
    {
        builder.Services.AddSingleton<RoomIds>();
        builder.Services.AddSingleton<ChatSessionFactory>();
        return builder;
    }

    /// <summary>
    /// At most <see cref="SocketLimit.Max"/> chat sockets, with file descriptors to spare, caps per client
    /// address (<see cref="ClientLimits"/>), and the kernel send buffer per socket when set.
    /// </summary>
    public static WebApplicationBuilder AddSocketLimits(this WebApplicationBuilder builder)
    {
        builder.Services.AddSingleton<SocketLimit>();
        builder.Services.AddSingleton<ClientLimits>();
        builder.Services.AddOptions<KestrelServerOptions>().Configure<SocketLimit, IOptions<ChatGatewayOptions>>((kestrel, limit, options) =>
        {
            // Connections beyond the chat sockets (page loads, health checks, upgrades in progress)
            // get half the reserve; Kestrel closes the ones past that at once, so the process keeps
            // descriptors to spare (SocketLimit answers the chat sockets past theirs with 503).
            var reserve = options.Value.FileReserve;
            if (limit.Max < int.MaxValue - reserve)
            {
                kestrel.Limits.MaxConcurrentConnections = limit.Max + reserve / 2;
            }
        });
        builder.Services.AddOptions<SocketTransportOptions>().Configure<IOptions<ChatGatewayOptions>>((sockets, options) =>
        {
            var sendBuffer = options.Value.SocketSendBufferBytes;
            if (sendBuffer > 0)
            {
                // Accepted sockets inherit the listening socket's buffer size.
                sockets.CreateBoundListenSocket = endpoint =>
                {
                    var socket = SocketTransportOptions.CreateDefaultBoundListenSocket(endpoint);
                    socket.SendBufferSize = sendBuffer;
                    return socket;
                };
            }
        });
        return builder;
    }

    /// <summary>Readiness: besides the started host (ServiceDefaults), PostgreSQL must answer.</summary>
    public static WebApplicationBuilder AddGatewayHealth(this WebApplicationBuilder builder)
    {
        builder.Services.AddHealthChecks().AddCheck<DatabaseHealthCheck>("database", tags: ["ready"]);
        return builder;
    }

    /// <summary>The meter "Chat.Gateway" (exported with the others by ServiceDefaults).</summary>
    public static WebApplicationBuilder AddGatewayMetrics(this WebApplicationBuilder builder)
    {
        builder.Services.AddSingleton<GatewayMetrics>();
        return builder;
    }
}
