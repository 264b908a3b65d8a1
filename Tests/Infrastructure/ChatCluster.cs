namespace Chat.Orleans.Tests.Infrastructure;

/// <summary>
/// A whole chat service for a test class: its own PostgreSQL, one real silo, one real gateway, and
/// more of either on demand. Everything it starts, it stops.
/// </summary>
public class ChatCluster : IAsyncLifetime
{
    private readonly List<IAsyncDisposable> _started = [];
    private readonly string _clusterId = "test-" + Guid.NewGuid().ToString("N")[..8];

    public PostgresServer Postgres { get; protected set; } = null!;

    public ChatSilo Silo { get; protected set; } = null!;

    public ChatGateway Gateway { get; protected set; } = null!;

    /// <summary>Every silo process started, also those killed or stopped since.</summary>
    public IEnumerable<SiloProcess> AllSilos => _started.OfType<SiloProcess>();

    /// <summary>A cluster client for driving grains directly (the main gateway's).</summary>
    public IClusterClient Client => Gateway.Client;

    public virtual async Task InitializeAsync()
    {
        Postgres = await StartPostgresAsync();
        Silo = await StartSiloAsync();
        Gateway = await StartGatewayAsync();
    }

    public async Task<ChatSilo> StartSiloAsync(Action<IDictionary<string, string?>>? configure = null)
    {
        var silo = await ChatSilo.StartAsync(SiloSettings(configure));
        _started.Add(silo);
        return silo;
    }

    /// <summary>A silo in a process of its own (to be killed); it is up once a gateway connects through it.</summary>
    public SiloProcess StartSiloProcess(Action<IDictionary<string, string?>>? configure = null)
    {
        var silo = SiloProcess.Start(SiloSettings(configure));
        _started.Add(silo);
        return silo;
    }

    /// <summary>A gateway in a process of its own (to be killed), ready when this returns.</summary>
    public async Task<GatewayProcess> StartGatewayProcessAsync(Action<IDictionary<string, string?>>? configure = null)
    {
        var gateway = await GatewayProcess.StartAsync(GatewaySettings(configure));
        _started.Add(gateway);
        return gateway;
    }

    public async Task<ChatGateway> StartGatewayAsync(Action<IDictionary<string, string?>>? configure = null, bool waitForCluster = true)
    {
        var settings = GatewaySettings(configure);
        var gateway = waitForCluster ? await ChatGateway.StartAsync(settings) : await ChatGateway.StartServingAsync(settings);
        _started.Add(gateway);
        return gateway;
    }

    /// <summary>Replaces the main silo and gateway by new processes' worth of state (a full restart).</summary>
    public async Task RestartAsync()
    {
        await Gateway.StopAsync();
        await Silo.StopAsync();
        Silo = await StartSiloAsync();
        Gateway = await StartGatewayAsync();
    }

    private Dictionary<string, string?> GatewaySettings(Action<IDictionary<string, string?>>? configure)
    {
        var settings = new Dictionary<string, string?>
        {
            ["ConnectionStrings:Chat"] = Postgres.ConnectionString,
            ["Orleans:ClusterId"] = _clusterId,
        };
        ConfigureGateway(settings);
        configure?.Invoke(settings);
        return settings;
    }

    private Dictionary<string, string?> SiloSettings(Action<IDictionary<string, string?>>? configure)
    {
        var settings = new Dictionary<string, string?>
        {
            ["ConnectionStrings:Chat"] = Postgres.ConnectionString,
            ["Orleans:ClusterId"] = _clusterId,
            ["Chat:Silo:SiloPort"] = FreePort.Next().ToString(),
            ["Chat:Silo:ClientPort"] = FreePort.Next().ToString(),
            ["Urls"] = "http://127.0.0.1:0",
            // Tests that stop PostgreSQL wait for the error frame: after 3 s, not the default 10 (the
            // failover tests use the default).
            ["Chat:MessageLog:OutageTimeout"] = "00:00:03",
        };
        ConfigureSilo(settings);
        configure?.Invoke(settings);
        return settings;
    }

    public Task<TestChatClient> ConnectAsync(string room, string? forwardedFor = null) =>
        TestChatClient.ConnectAsync(Gateway.WebSocketUri(room), forwardedFor);

    public async Task<TestChatClient> JoinAsync(string room, string name, string? forwardedFor = null)
    {
        var client = await ConnectAsync(room, forwardedFor);
        await client.JoinAsync(name);
        return client;
    }

    public virtual async Task DisposeAsync()
    {
        for (var i = _started.Count - 1; i >= 0; i--)
        {
            await _started[i].DisposeAsync();
        }

        await Postgres.DisposeAsync();
    }

    /// <summary>The database: one PostgreSQL; a subclass may start another kind.</summary>
    protected virtual async Task<PostgresServer> StartPostgresAsync() => await PostgresServer.StartNewAsync();

    /// <summary>Test-friendly defaults; a subclass may change them.</summary>
    protected virtual void ConfigureSilo(IDictionary<string, string?> settings)
    {
    }

    protected virtual void ConfigureGateway(IDictionary<string, string?> settings)
    {
    }
}
