using System.Net.Sockets;
using Npgsql;

namespace Chat.Orleans.Grains.Storage;

/// <summary>
/// The errors that a restart or a failover of PostgreSQL causes, and what to do before trying again.
/// Only operations that are safe to repeat are retried on them (see the callers for why each is).
/// </summary>
public static class DatabaseOutage
{
    /// <summary>
    /// True when the database was out of reach rather than refusing the statement: the session died
    /// (shut down, crashed, still starting, a connection-level error), the node reached is a standby or a
    /// demoted primary (read-only), or no host could be used at all. Npgsql's "No suitable host was
    /// found", which it throws for a while after a failover, is not transient by its own account, and so
    /// is any error raised by the client rather than the server: they all say the statement never ran, or
    /// that its outcome is unknown.
    /// </summary>
    public static bool IsOutage(Exception exception) => exception switch
    {
        PostgresException postgres => postgres.SqlState is PostgresErrorCodes.AdminShutdown
            or PostgresErrorCodes.CrashShutdown
            or PostgresErrorCodes.CannotConnectNow
            or PostgresErrorCodes.ReadOnlySqlTransaction
            || postgres.SqlState.StartsWith("08", StringComparison.Ordinal),
        NpgsqlException => true,
        IOException or SocketException or TimeoutException => true,
        _ => false,
    };

    /// <summary>
    /// Forgets what the data source knows about the servers: its pooled connections (dead after a restart)
    /// and, with several hosts, which of them is the primary (cached for <c>Host Recheck Seconds</c>, so
    /// the promoted standby would be passed over for that long).
    /// </summary>
    public static void Forget(NpgsqlDataSource dataSource)
    {
        dataSource.Clear();
        if (dataSource is NpgsqlMultiHostDataSource hosts)
        {
            hosts.ClearDatabaseStates();
        }
    }

    /// <summary>
    /// The pause before try <paramref name="attempt"/> (from 1): short, since a failover ends within
    /// seconds and every pause adds to what senders wait; growing, so an outage is not hammered.
    /// </summary>
    public static TimeSpan PauseBefore(int attempt) => TimeSpan.FromMilliseconds(Math.Min(100 * attempt, 250));
}
