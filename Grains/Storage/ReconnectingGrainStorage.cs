using Microsoft.Extensions.Logging;
using Npgsql;
using Orleans.Storage;

namespace Chat.Orleans.Grains.Storage;

/// <summary>
/// Grain storage on PostgreSQL that survives a database restart or a failover: an operation that fails
/// because the database was out of reach is tried again on fresh connections, within a bound.
/// </summary>
/// <remarks>
/// <para>
/// Why: the ADO.NET grain storage takes a pooled connection for every operation, and Npgsql does not
/// check a pooled connection before handing it out (that would cost a round trip each time). After a
/// restart the pool still holds connections to the old server; the first command on one is sent and
/// answered by the old server's farewell (57P01 "terminating connection due to administrator command")
/// or an I/O error. Without this, the first room activation after a restart failed on its state read.
/// The pool is cleared before the retry (Npgsql also clears it on such an error, but not for every
/// kind of break), so the retry and every operation after it open new connections. During a failover
/// (scripts/postgres-ha.sh) no host takes writes for a few seconds, so tries go on, with short pauses,
/// until <c>outageTimeout</c> has passed since the first.
/// </para>
/// <para>
/// Why a retry is safe: a read changes nothing. A write, clear or delete that failed this way almost
/// always never reached a live server, but the client cannot prove it (a session killed between commit
/// and reply looks the same). Safety does not rest on that: each of them is a compare-and-set on the
/// version the grain last saw (Schema/003-orleans-persistence.sql), and the retry carries the same
/// version. So it can neither apply twice nor overwrite a newer state; if the first attempt did commit,
/// the retry is refused as a version conflict (<see cref="InconsistentStateException"/>), which is the
/// error the grain's next write would have met anyway. The same holds for a try that timed out and may
/// still be running: whichever of the two commits first wins, the other is refused. Errors the statement
/// itself raised are not retried (<see cref="DatabaseOutage.IsOutage"/>).
/// </para>
/// <para>
/// Alternatives not taken: Npgsql has no setting that checks a pooled connection before use; keepalives
/// (<c>Keepalive</c>, <c>Tcp Keepalive</c>) and <c>Connection Idle Lifetime</c> only notice a dead
/// connection some seconds later, so the first operation after a quick restart could still get one.
/// </para>
/// </remarks>
public sealed partial class ReconnectingGrainStorage(
    IGrainStorage inner,
    NpgsqlDataSource dataSource,
    TimeSpan outageTimeout,
    string name,
    ILogger<ReconnectingGrainStorage> logger) : IGrainStorage, ILifecycleParticipant<ISiloLifecycle>
{
    public Task ReadStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) =>
        ReadStateAsync(stateName, grainId, grainState, CancellationToken.None);

    public Task ReadStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState, CancellationToken cancellationToken) =>
        WithRetryAsync("Reading", grainId, () => inner.ReadStateAsync(stateName, grainId, grainState, cancellationToken), cancellationToken);

    public Task WriteStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) =>
        WriteStateAsync(stateName, grainId, grainState, CancellationToken.None);

    public Task WriteStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState, CancellationToken cancellationToken) =>
        WithRetryAsync("Writing", grainId, () => inner.WriteStateAsync(stateName, grainId, grainState, cancellationToken), cancellationToken);

    public Task ClearStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) =>
        ClearStateAsync(stateName, grainId, grainState, CancellationToken.None);

    public Task ClearStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState, CancellationToken cancellationToken) =>
        WithRetryAsync("Clearing", grainId, () => inner.ClearStateAsync(stateName, grainId, grainState, cancellationToken), cancellationToken);

    /// <summary>
    /// The inner storage loads its queries at silo start; the provider's registration reaches it through
    /// this decorator, which stands under the storage's name.
    /// </summary>
    public void Participate(ISiloLifecycle lifecycle)
    {
        if (inner is ILifecycleParticipant<ISiloLifecycle> participant)
        {
            participant.Participate(lifecycle);
        }
    }

    private async Task WithRetryAsync(string operation, GrainId grainId, Func<Task> attempt, CancellationToken cancellationToken)
    {
        var started = Environment.TickCount64;
        for (var tries = 1; ; tries++)
        {
            try
            {
                await attempt();
                return;
            }
            catch (Exception exception) when (DatabaseOutage.IsOutage(exception) && !cancellationToken.IsCancellationRequested
                && (tries == 1 || Environment.TickCount64 - started < outageTimeout.TotalMilliseconds))
            {
                // The storage changes the grain state's fields only after success, so the next try starts
                // from the same state and version as the first.
                if (tries == 1)
                {
                    LogRetried(logger, exception, operation, grainId, name);
                }

                DatabaseOutage.Forget(dataSource);
                await Task.Delay(DatabaseOutage.PauseBefore(tries), cancellationToken);
            }
        }
    }

    [LoggerMessage(EventId = 2010, Level = LogLevel.Warning, Message = "{Operation} the state of grain {GrainId} in storage {Storage} failed: the database is out of reach (a restart or a failover); trying again on fresh connections")]
    private static partial void LogRetried(ILogger logger, Exception exception, string operation, GrainId grainId, string storage);
}
