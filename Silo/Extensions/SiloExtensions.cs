using System.Net;
using Chat.Orleans.Grains;
using Chat.Orleans.Grains.RateLimiting;
using Chat.Orleans.Grains.Rooms;
using Chat.Orleans.Grains.Storage;
using Chat.Orleans.ServiceDefaults;
using Chat.Orleans.Silo.Schema;
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

    /// <summary>The chat silo: schema, message log, grains, ADO.NET clustering and storage on PostgreSQL.</summary>
    public static IHostApplicationBuilder AddChatSilo(this IHostApplicationBuilder builder)
    {
        var connectionString = builder.Configuration.GetChatConnectionString();
        var siloOptions = builder.Configuration.GetSection(ChatSiloOptions.Section).Get<ChatSiloOptions>() ?? new();

        builder.AddServiceDefaults();
        builder.Services.AddOptions<ChatSiloOptions>().BindConfiguration(ChatSiloOptions.Section).ValidateDataAnnotations().ValidateOnStart();

        // Registered before Orleans, so hosted-service order applies the schema before the silo starts.
        builder.Services.AddHostedService<SchemaInitializer>();

        builder.UseOrleans(silo =>
        {
            silo.Configure<ClusterOptions>(builder.Configuration.GetSection("Orleans"));

            // Tuned for a chat (appsettings.json): a dead silo is declared dead in seconds, so its
            // rooms come back elsewhere quickly, instead of after Orleans' default of about a minute.
            silo.Configure<ClusterMembershipOptions>(builder.Configuration.GetSection("Orleans:Membership"));
            silo.ConfigureEndpoints(
                string.IsNullOrEmpty(siloOptions.AdvertisedAddress)
                    ? Dns.GetHostAddresses(Dns.GetHostName()).First(a => a.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork)
                    : IPAddress.Parse(siloOptions.AdvertisedAddress),
                siloOptions.SiloPort,
                siloOptions.GatewayPort,
                listenOnAnyHostAddress: true);
            silo.UseAdoNetClustering(options =>
            {
                options.Invariant = "Npgsql";
                options.ConnectionString = connectionString;
            });
            silo.AddChatGrains(connectionString);
            if (siloOptions.Dashboard)
            {
                silo.AddDashboard();
            }
        });

        return builder;
    }

    /// <summary>
    /// What the chat grains need in any silo (the real one and the test host's): their options, the
    /// message log, and the rooms' grain storage on PostgreSQL.
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

        // Stored state is written with the Orleans serializer, so type names come from [Alias] and
        // survive renames of types and assemblies.
        services.AddOptions<AdoNetGrainStorageOptions>(RoomStorage)
            .Configure<IServiceProvider>((options, provider) =>
                options.GrainStorageSerializer = ActivatorUtilities.CreateInstance<OrleansGrainStorageSerializer>(provider));
        silo.AddAdoNetGrainStorage(RoomStorage, options =>
        {
            options.Invariant = "Npgsql";
            options.ConnectionString = connectionString;
        });
        return silo;
    }

    /// <summary>The silo's HTTP endpoints: health, metrics, and the Orleans dashboard when enabled.</summary>
    public static WebApplication MapChatSilo(this WebApplication app)
    {
        app.MapDefaultEndpoints();
        if (app.Services.GetRequiredService<IOptions<ChatSiloOptions>>().Value.Dashboard)
        {
            app.MapOrleansDashboard("/dashboard");
        }

        return app;
    }

    public static string GetChatConnectionString(this IConfiguration configuration) =>
        configuration.GetConnectionString("Chat")
        ?? throw new InvalidOperationException("ConnectionStrings:Chat (env ConnectionStrings__Chat) is not set.");
}
