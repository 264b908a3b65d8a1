using Microsoft.Extensions.Options;

namespace Chat.Orleans.Gateway.Rooms;

/// <summary>
/// The rooms this gateway has members in, one <see cref="RoomSubscription"/> each, renewed on a timer
/// so that rooms can tell a live gateway from a dead one and rebuild their roster after moving.
/// </summary>
public sealed partial class RoomRegistry(
    IClusterClient client,
    GatewayMetrics metrics,
    IOptions<GatewayOptions> options,
    ILogger<RoomRegistry> logger) : BackgroundService
{
    // Renewals go out a slice per tick, spread over the period: renewing thousands of rooms at once
    // was a burst of calls every period, and every message queued behind it (a p99 spike).
    private const int RenewalSlices = 25;

    private readonly Lock _lock = new();
    private readonly Dictionary<string, RoomSubscription> _rooms = [];
    private readonly SemaphoreSlim _joins = new(options.Value.MaxConcurrentJoins);
    private long _lastSessionId;
    private int _nextRenewalSlice;

    /// <summary>Names this gateway process to the rooms; a restarted gateway is a new one.</summary>
    public Guid GatewayId { get; } = Guid.NewGuid();

    public long NewSessionId() => Interlocked.Increment(ref _lastSessionId);

    /// <summary>
    /// Joins a room, at most <see cref="GatewayOptions.MaxConcurrentJoins"/> at a time from this gateway.
    /// In a reconnect storm (thousands of sockets at once) unbounded joins queued in the silos past the
    /// call timeout, failed, were retried, and the storm fed itself; queued here, they wait their turn.
    /// </summary>
    public async Task<RoomSnapshot> JoinAsync(RoomSubscription subscription, Sessions.ChatSession session, RoomMember member)
    {
        await _joins.WaitAsync();
        try
        {
            return await subscription.JoinAsync(session, member);
        }
        finally
        {
            _joins.Release();
        }
    }

    public RoomSubscription Acquire(string room)
    {
        lock (_lock)
        {
            if (!_rooms.TryGetValue(room, out var subscription))
            {
                subscription = new RoomSubscription(room, client.GetGrain<IRoomGrain>(room), GatewayId, metrics, logger);
                subscription.Reference = client.CreateObjectReference<IRoomObserver>(subscription);
                subscription.RenewalSlice = _nextRenewalSlice++ % RenewalSlices;
                _rooms.Add(room, subscription);
            }

            subscription.Holders++;
            return subscription;
        }
    }

    public void Release(RoomSubscription subscription)
    {
        lock (_lock)
        {
            if (--subscription.Holders == 0)
            {
                _rooms.Remove(subscription.Room);
                client.DeleteObjectReference<IRoomObserver>(subscription.Reference);
            }
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.SubscriptionRenewal / RenewalSlices);
        var slice = 0;
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            slice = (slice + 1) % RenewalSlices;
            RoomSubscription[] subscriptions;
            lock (_lock)
            {
                subscriptions = [.. _rooms.Values.Where(subscription => subscription.RenewalSlice == slice)];
            }

            await Task.WhenAll(subscriptions.Select(RenewAsync));
        }
    }

    private async Task RenewAsync(RoomSubscription subscription)
    {
        try
        {
            await subscription.RenewAsync();
        }
        catch (Exception exception)
        {
            // The next tick tries again; the room's lease outlasts several missed renewals.
            LogRenewalFailed(logger, exception, subscription.Room);
        }
    }

    [LoggerMessage(EventId = 3001, Level = LogLevel.Warning, Message = "Renewing the subscription to room {Room} failed")]
    private static partial void LogRenewalFailed(ILogger logger, Exception exception, string room);
}
