using Chat.Orleans.Gateway.Sessions;

namespace Chat.Orleans.Gateway.Moderation;

/// <summary>
/// Keeps this gateway's <see cref="BanList"/> current: it reads the ban store's version every
/// <see cref="Period"/>, reloads the bans when it changed, and closes the open sessions a new ban
/// covers. So a ban taken by any gateway holds on every gateway within a second.
/// </summary>
public sealed partial class BanWatcher(BanStore store, BanList bans, SessionDirectory sessions, GatewayMetrics metrics, ILogger<BanWatcher> logger) : BackgroundService
{
    public static readonly TimeSpan Period = TimeSpan.FromMilliseconds(250);

    private readonly SemaphoreSlim _refreshing = new(1, 1);
    private long _version = -1;

    /// <summary>Reads the bans now (the gateway that took a ban does not wait for its next period).</summary>
    public async Task RefreshAsync(CancellationToken cancellationToken)
    {
        await _refreshing.WaitAsync(cancellationToken);
        try
        {
            var version = await store.VersionAsync(cancellationToken);
            if (version == _version && bans.Loaded)
            {
                return;
            }

            bans.Replace(await store.ReadAsync(cancellationToken));
            _version = version;
            Enforce();
        }
        finally
        {
            _refreshing.Release();
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(Period);
        var failing = false;
        do
        {
            try
            {
                await RefreshAsync(stoppingToken);
                failing = false;
            }
            catch (Exception exception) when (exception is not OperationCanceledException)
            {
                // The database may be restarting, or the schema not applied yet: the bans read last stay in
                // force, and the next period tries again. Logged once per outage.
                if (!failing)
                {
                    LogRefreshFailed(logger, exception);
                }

                failing = true;
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }

    private void Enforce()
    {
        foreach (var session in sessions.Sessions)
        {
            if (session.CloseIfBanned(bans))
            {
                metrics.SessionBanned();
                LogSessionBanned(logger, session.Room);
            }
        }
    }

    [LoggerMessage(EventId = 6101, Level = LogLevel.Warning, Message = "Reading the bans failed; the ones read last stay in force")]
    private static partial void LogRefreshFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 6102, Level = LogLevel.Information, Message = "A session in room {Room} was closed by a ban")]
    private static partial void LogSessionBanned(ILogger logger, string room);
}
