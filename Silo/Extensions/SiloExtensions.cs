using System.Net;
using Chat.Orleans.Grains;
using Chat.Orleans.Grains.RateLimiting;
using Chat.Orleans.Grains.Rooms;
using Chat.Orleans.Grains.Storage;
using Chat.Orleans.ServiceDefaults;
using Chat.Orleans.Grains.Directory;
using Chat.Orleans.Silo.Schema;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Npgsql;
using Orleans.Dashboard;
using Orleans.Configuration;
using Orleans.Storage;

namespace Chat.Orleans.Silo.Extensions;

public static class SiloExtensions
{
    /// <summary>The grain storage that holds the rooms' small state.</summary>
    public const string RoomStorage = "rooms";

    /// <summary>
    /// <see cref="ChatSiloOptions"/> from <c>Chat:Silo</c>, bound once and validated at start. The
    /// client port's old key (<c>GatewayPort</c>) still counts when the new one is not set.
    /// </summary>
    public static IHostApplicationBuilder AddSiloOptions(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<ChatSiloOptions>()
            .BindConfiguration(ChatSiloOptions.Section)
            .Configure<IConfiguration>((options, configuration) =>
            {
                var section = configuration.GetSection(ChatSiloOptions.Section);
                if (section[nameof(ChatSiloOptions.ClientPort)] is null && int.TryParse(section["GatewayPort"], out var port))
                {
                    options.ClientPort = port;
                }
            })
            .ValidateDataAnnotations()
            .ValidateOnStart();
        return builder;
    }

    /// <summary>
    /// Brings the database schema up to date before the silo joins the cluster (registered before
    /// Orleans, so hosted-service order applies it first).
    /// </summary>
    public static IHostApplicationBuilder AddDatabaseSchema(this IHostApplicationBuilder builder)
    {
        builder.Services.AddHostedService<SchemaInitializer>();
        return builder;
    }

    /// <summary>The silo: ADO.NET clustering on PostgreSQL, its endpoints, the chat grains and their storage.</summary>
    public static IHostApplicationBuilder AddOrleansSilo(this IHostApplicationBuilder builder)
    {
        var connectionString = builder.Configuration.GetChatConnectionString();
        builder.UseOrleans(silo =>
        {
            silo.Configure<ClusterOptions>(builder.Configuration.GetSection("Orleans"));

            // Tuned for a chat (appsettings.json): a dead silo is declared dead in seconds, so its
            // rooms come back elsewhere quickly, instead of after Orleans' default of about a minute.
            silo.Configure<ClusterMembershipOptions>(builder.Configuration.GetSection("Orleans:Membership"));
            silo.Services.AddOptions<EndpointOptions>().Configure<IOptions<ChatSiloOptions>>((endpoints, chat) =>
            {
                var options = chat.Value;
                endpoints.AdvertisedIPAddress = string.IsNullOrEmpty(options.AdvertisedAddress)
                    ? Dns.GetHostAddresses(Dns.GetHostName()).First(a => a.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork)
                    : IPAddress.Parse(options.AdvertisedAddress);
                endpoints.SiloPort = options.SiloPort;
                endpoints.GatewayPort = options.ClientPort;

                // Listen on every interface; advertise the one address above.
                endpoints.SiloListeningEndpoint = new IPEndPoint(IPAddress.Any, options.SiloPort);
                endpoints.GatewayListeningEndpoint = new IPEndPoint(IPAddress.Any, options.ClientPort);
            });
            // The membership table through the program's one data source (AddChatGrains), which follows
            // the primary when the connection string names several hosts.
            silo.UseAdoNetClustering(options => options.Configure<NpgsqlDataSource>((clustering, dataSource) =>
            {
                clustering.Invariant = "Npgsql";
                clustering.DataSource = dataSource;
            }));
            silo.AddChatGrains(connectionString);

            // Read before the options exist, because it decides which services there are.
            if (builder.Configuration.GetValue<bool>($"{ChatSiloOptions.Section}:{nameof(ChatSiloOptions.Dashboard)}"))
            {
                silo.AddDashboard();
            }
        });

        return builder;
    }

    /// <summary>
    /// What the chat grains need in any silo (the real one and the test host's): their options, the
    /// message log, and the rooms' grain storage on PostgreSQL, all through one data source. A connection
    /// string with several hosts and <c>Target Session Attributes=read-write</c> (scripts/postgres-ha.sh)
    /// makes it follow the primary across a failover.
    /// </summary>
    public static ISiloBuilder AddChatGrains(this ISiloBuilder silo, string connectionString)
    {
        var services = silo.Services;
        services.AddOptions<RoomOptions>().BindConfiguration(RoomOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<RateLimitOptions>().BindConfiguration(RateLimitOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<MessageLogOptions>().BindConfiguration(MessageLogOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton(_ =>
        {
            // The log sends the same two statements all day: prepared, PostgreSQL skips parsing and
            // planning them on every batch (unless the connection string says otherwise).
            var builder = new NpgsqlDataSourceBuilder(connectionString);
            if (builder.ConnectionStringBuilder.MaxAutoPrepare == 0)
            {
                builder.ConnectionStringBuilder.MaxAutoPrepare = 8;
            }

            return builder.Build();
        });
        services.AddSingleton<RoomMetrics>();
        services.AddSingleton<MessageLog>();
        services.AddSingleton<GatewayOutbox>();
        services.AddOptions<DirectoryOptions>().BindConfiguration(DirectoryOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<LocalRooms>();
        services.AddHostedService<RoomCountReporter>();

        // Stored state is written with the Orleans serializer, so type names come from [Alias] and
        // survive renames of types and assemblies.
        services.AddOptions<AdoNetGrainStorageOptions>(RoomStorage)
            .Configure<IServiceProvider>((options, provider) =>
                options.GrainStorageSerializer = ActivatorUtilities.CreateInstance<OrleansGrainStorageSerializer>(provider));
        silo.AddAdoNetGrainStorage(RoomStorage, options => options.Configure<NpgsqlDataSource>((storage, dataSource) =>
        {
            storage.Invariant = "Npgsql";
            storage.DataSource = dataSource;
        }));

        // The same storage, under the same name, behind a decorator that retries while the database is
        // out of reach (ReconnectingGrainStorage says why that is safe); without it the first room
        // activation after a PostgreSQL restart failed, and every one during a failover. The provider's lifecycle registration
        // resolves the storage by this name, so the decorator passes it on to the ADO.NET storage.
        services.RemoveAllKeyed<IGrainStorage>(RoomStorage);
        services.AddKeyedSingleton<IGrainStorage>(RoomStorage, (provider, _) => new ReconnectingGrainStorage(
            AdoNetGrainStorageFactory.Create(provider, RoomStorage),
            provider.GetRequiredService<NpgsqlDataSource>(),
            provider.GetRequiredService<IOptions<MessageLogOptions>>().Value.OutageTimeout,
            RoomStorage,
            provider.GetRequiredService<ILogger<ReconnectingGrainStorage>>()));
        return silo;
    }

    /// <summary>The Orleans dashboard at <c>/dashboard</c>, when <see cref="ChatSiloOptions.Dashboard"/> is on.</summary>
    public static WebApplication MapOrleansDashboardWhenEnabled(this WebApplication app)
    {
        if (app.Services.GetRequiredService<IOptions<ChatSiloOptions>>().Value.Dashboard)
        {
            app.MapOrleansDashboard("/dashboard");
        }

        return app;
    }
}
