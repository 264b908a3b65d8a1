namespace Chat.Orleans.Tests.Infrastructure;

/// <summary>
/// A highly available PostgreSQL of the tests' own (scripts/postgres-ha.sh): a pg_auto_failover monitor,
/// a primary and a synchronous standby, and the faults a test can cause them.
/// </summary>
public sealed class HaPostgresServer() : PostgresServer("postgres-ha.sh")
{
    public static new async Task<HaPostgresServer> StartNewAsync()
    {
        var server = new HaPostgresServer();
        await server.StartAsync();
        return server;
    }

    /// <summary>The data node that is the primary now: node1 or node2.</summary>
    public async Task<string> PrimaryAsync() => (await RunScriptAsync("primary")).Trim();

    /// <summary>Stops a data node the hard way: its keeper and its postgres at once, with no shutdown checkpoint.</summary>
    public Task CrashAsync(string node) => RunScriptAsync("crash", node);

    /// <summary>Starts every node that is not running (a crashed one rejoins as the standby) and waits for a primary and a standby.</summary>
    public Task RejoinAsync() => StartAsync();

    /// <summary>A planned switchover: the standby becomes the primary; returns when it has.</summary>
    public Task SwitchoverAsync() => RunScriptAsync("switchover");

    /// <summary>Each node's reported and assigned state, for reports.</summary>
    public async Task<string> StateAsync() => (await RunScriptAsync("state")).Trim();
}
