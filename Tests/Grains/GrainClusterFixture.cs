using Chat.Orleans.Grains.RateLimiting;
using Chat.Orleans.Grains.Rooms;
using Chat.Orleans.Grains.Storage;
using Chat.Orleans.Silo.Extensions;
using Chat.Orleans.Silo.Schema;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Npgsql;
using Orleans.TestingHost;

namespace Chat.Orleans.Tests.Grains;

/// <summary>
/// One Orleans test cluster (one in-process silo, in-memory membership) on a throwaway PostgreSQL of its
/// own, wired for the grains by the real silo's <see cref="SiloExtensions.AddChatGrains"/>.
/// Shared by the grain test classes of <see cref="GrainClusterCollection"/>, which run one after another.
/// </summary>
public sealed class GrainClusterFixture : IAsyncLifetime
{
    /// <summary>Short, so that the lease tests take seconds; the room checks leases every third of it.</summary>
    public static readonly TimeSpan SubscriptionLease = TimeSpan.FromSeconds(3);

    /// <summary>How often test gateways renew: a third of the lease, as a real gateway does.</summary>
    public static readonly TimeSpan RenewalPeriod = SubscriptionLease / 3;

    public static readonly TimeSpan RateLimitInterval = TimeSpan.FromSeconds(5);

    public static readonly TimeSpan RateLimitGrace = TimeSpan.FromSeconds(20);

    public const int HistoryLength = 100;

    public PostgresServer Postgres { get; private set; } = null!;

    public InProcessTestCluster Cluster { get; private set; } = null!;

    public IClusterClient Client => Cluster.Client;

    /// <summary>The services of the (only) silo.</summary>
    public IServiceProvider SiloServices => Cluster.Silos[0].ServiceProvider;

    /// <summary>The silo's message log, the one the room grains write through.</summary>
    public MessageLog MessageLog => SiloServices.GetRequiredService<MessageLog>();

    public async Task InitializeAsync()
    {
        Postgres = await PostgresServer.StartNewAsync();
        await DatabaseSchema.ApplyAsync(Postgres.ConnectionString);

        // The connection string keeps its port across a PostgreSQL restart, so it is read once.
        var connectionString = Postgres.ConnectionString;
        var settings = new Dictionary<string, string?>
        {
            ["ConnectionStrings:Chat"] = connectionString,
            [$"{RoomOptions.Section}:HistoryLength"] = HistoryLength.ToString(),
            [$"{RoomOptions.Section}:SubscriptionLease"] = SubscriptionLease.ToString("c"),
            [$"{RateLimitOptions.Section}:Interval"] = RateLimitInterval.ToString("c"),
            [$"{RateLimitOptions.Section}:Grace"] = RateLimitGrace.ToString("c"),
            [$"{MessageLogOptions.Section}:CommandTimeout"] = "00:00:05",
            // The outage tests stop PostgreSQL and wait for the error: after a second, not the default 10.
            [$"{MessageLogOptions.Section}:OutageTimeout"] = "00:00:01",
        };

        var builder = new InProcessTestClusterBuilder(1);
        builder.Options.ConfigureFileLogging = false;
        builder.ConfigureSiloHost((_, host) =>
        {
            host.Configuration.AddInMemoryCollection(settings);
            host.Logging.SetMinimumLevel(LogLevel.Warning);
        });

        // The same grain wiring as the real silo.
        builder.ConfigureSilo((_, silo) => silo.AddChatGrains(connectionString));

        Cluster = builder.Build();
        await Cluster.DeployAsync();
    }

    /// <summary>
    /// Drops the silo's pooled PostgreSQL connections (the message log's data source and the grain storage's
    /// pool), for tests that restart PostgreSQL: the first use of each stale pooled connection fails, which
    /// would otherwise surface in whichever test runs next.
    /// </summary>
    public void ClearConnectionPools()
    {
        SiloServices.GetRequiredService<NpgsqlDataSource>().Clear();
        using var connection = new NpgsqlConnection(Postgres.ConnectionString);
        NpgsqlConnection.ClearPool(connection);
    }

    public async Task DisposeAsync()
    {
        if (Cluster is not null)
        {
            await Cluster.DisposeAsync();
        }

        if (Postgres is not null)
        {
            await Postgres.DisposeAsync();
        }
    }
}

/// <summary>The grain test classes share one cluster and run one after another.</summary>
[CollectionDefinition(Name)]
public sealed class GrainClusterCollection : ICollectionFixture<GrainClusterFixture>
{
    public const string Name = "Grain cluster";
}
