using System.Runtime.InteropServices;
using Microsoft.Extensions.Options;

namespace Chat.Orleans.Gateway.Rooms;

/// <summary>
/// The rooms this gateway has members in: one <see cref="RoomSubscription"/> each, made on the first
/// join and dropped after the last leave, and renewed on a timer so that rooms can tell a live gateway
/// from a dead one and rebuild their roster after moving. Sessions join through here and get a
/// <see cref="RoomMembership"/>. It is also the gateway's one observer: every room's events arrive here,
/// in batches that a silo fills from all its rooms, and each goes to its room's subscription.
/// </summary>
public sealed partial class RoomRegistry(
    IClusterClient client,
    SiloConnections silos,
    GatewayMetrics metrics,
    IOptions<ChatGatewayOptions> options,
    ILogger<RoomRegistry> logger) : BackgroundService, IGatewayObserver
{
    // Renewals go out a slice per tick, spread over the period: renewing thousands of rooms at once
    // was a burst of calls every period, and every message queued behind it (a p99 spike).
    private const int RenewalSlices = 25;

    private readonly Lock _lock = new();
    private readonly Dictionary<string, Entry> _rooms = [];
    private readonly SemaphoreSlim _joins = new(options.Value.MaxConcurrentJoins);

    // A room stays out of reach at most as long as a post may be retried. A moved room's roster is
    // checked again once every live gateway has subscribed again: a gateway's calls to the dead silo
    // may first wait out the call timeout, then it renews within a period. Checked earlier, the
    // members of a gateway still on its way would be shown leaving and coming back.
    private readonly RoomSubscription.Timing _timing = new(
        options.Value.PostRetryTimeout,
        options.Value.CallTimeout + options.Value.SubscriptionRenewal * 2 + TimeSpan.FromSeconds(1));
    private long _lastSessionId;
    private int _nextRenewalSlice;

    // The reference rooms call back, made on the first join (the client must be connected by then).
    private IGatewayObserver? _observer;

    /// <summary>Names this gateway process to the rooms; a restarted gateway is a new one.</summary>
    public Guid GatewayId { get; } = Guid.NewGuid();

    /// <summary>
    /// Joins <paramref name="room"/> as <paramref name="name"/> (with the capabilities <paramref name="caps"/>,
    /// so that the room makes the frames they need); from the call on, the room's events go to
    /// <paramref name="listener"/>. Returns the membership and what the new member is owed (roster and
    /// history, and where in the room's events they stand; with <paramref name="since"/>, the messages
    /// after it). Throws when the room could not be joined; then nothing is left behind.
    /// </summary>
    public async Task<(RoomMembership Membership, RoomSnapshot Snapshot)> JoinAsync(string room, string name, string? user, Capabilities caps, long? since, IRoomListener listener)
    {
        var subscription = Acquire(room);
        var member = new RoomMember(Interlocked.Increment(ref _lastSessionId), name, user, caps);
        RoomSnapshot snapshot;
        try
        {
            snapshot = await JoinWithRetriesAsync(subscription, listener, member, since);
        }
        catch (Exception exception)
        {
            // The leave goes out in the background: the client hears of the failure at once, not
            // after one more call to a room that just failed to answer.
            LogJoinFailed(logger, exception, room);
            _ = LeaveAsync(subscription, listener, member);
            throw;
        }

        return (new RoomMembership(this, subscription, listener, member, options.Value.PostRetryTimeout), snapshot);
    }

    /// <summary>Leaves the room (see <see cref="RoomMembership.DisposeAsync"/>); never throws.</summary>
    internal async Task LeaveAsync(RoomSubscription subscription, IRoomListener listener, RoomMember member)
    {
        var failed = false;
        try
        {
            await subscription.LeaveAsync(listener, member.SessionId);
        }
        catch (Exception exception)
        {
            // The room drops the member anyway at the next renewal, which no longer lists it.
            LogLeaveFailed(logger, exception, subscription.Room);
            failed = true;
        }

        if (!Release(subscription) && failed)
        {
            // The room may have moved: the catch-up tells the other sessions here. Not for the last
            // one: a catch-up would subscribe the dropped observer to the room again.
            subscription.Suspect();
        }
    }

    Task IGatewayObserver.OnEvents(RoomEvents[] batch)
    {
        foreach (var events in batch)
        {
            // None for a room this gateway has left since: nobody here is waiting for its events.
            if (Find(events.Room) is not { } subscription)
            {
                continue;
            }

            try
            {
                subscription.OnEvents(events);
            }
            catch (Exception exception)
            {
                // One room's failure must not cost the other rooms of the batch their events (the silo
                // would count the whole call as failed); this room catches up from the room itself.
                LogDeliveryFailed(logger, exception, events.Room);
                subscription.Suspect();
            }
        }

        return Task.CompletedTask;
    }

    Task IGatewayObserver.OnActivationEnded(string room, long epoch)
    {
        Find(room)?.OnActivationEnded(epoch);
        return Task.CompletedTask;
    }

    Task IGatewayObserver.OnRoomClosed(string room)
    {
        Find(room)?.OnRoomClosed();
        return Task.CompletedTask;
    }

    internal void PostRetried(string room, Exception failure) => LogPostRetried(logger, failure, room);

    /// <summary>
    /// Asks every room for its epoch now rather than at the next renewal: a silo has gone, and the rooms
    /// it held come back elsewhere. A room that moved catches up at once.
    /// </summary>
    public Task RenewAllAsync()
    {
        List<RoomSubscription> all;
        lock (_lock)
        {
            all = [.. _rooms.Values.Select(entry => entry.Subscription)];
        }

        return Task.WhenAll(all.Select(RenewAsync));
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        // A silo has gone: its rooms come back elsewhere, and each room that moved catches up at once
        // instead of at its next renewal.
        silos.Dropped += () => _ = RenewAllAsync();

        using var timer = new PeriodicTimer(options.Value.SubscriptionRenewal / RenewalSlices);
        var slice = 0;
        var due = new List<RoomSubscription>();
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            slice = (slice + 1) % RenewalSlices;
            due.Clear();
            lock (_lock)
            {
                foreach (var entry in _rooms.Values)
                {
                    if (entry.Subscription.RenewalSlice == slice)
                    {
                        due.Add(entry.Subscription);
                    }
                }
            }

            await Task.WhenAll(due.Select(RenewAsync));
        }
    }

    /// <summary>
    /// Joins, and tries again when the call failed without an answer (the room's silo died, or the call
    /// timed out): the room comes back on another silo within seconds. Gives up after
    /// <see cref="ChatGatewayOptions.PostRetryTimeout"/>, as a post does.
    /// </summary>
    private Task<RoomSnapshot> JoinWithRetriesAsync(RoomSubscription subscription, IRoomListener listener, RoomMember member, long? since) =>
        RoomCalls.RetryAsync(
            () => JoinInLineAsync(subscription, listener, member, since),
            RoomCalls.DeadlineAfter(options.Value.PostRetryTimeout),
            exception =>
            {
                LogJoinRetried(logger, exception, subscription.Room);
                subscription.Suspect();
            });

    /// <summary>
    /// One join at a time per slot, at most <see cref="ChatGatewayOptions.MaxConcurrentJoins"/> from this
    /// gateway. In a reconnect storm (thousands of sockets at once) unbounded joins queued in the silos
    /// past the call timeout, failed, were retried, and the storm fed itself; queued here, they wait.
    /// </summary>
    private async Task<RoomSnapshot> JoinInLineAsync(RoomSubscription subscription, IRoomListener listener, RoomMember member, long? since)
    {
        await _joins.WaitAsync();
        try
        {
            return await subscription.JoinAsync(listener, member, since);
        }
        finally
        {
            _joins.Release();
        }
    }

    private RoomSubscription Acquire(string room)
    {
        lock (_lock)
        {
            if (!_rooms.ContainsKey(room))
            {
                // Built before it is listed: if building throws, nothing half-made stays behind.
                _observer ??= client.CreateObjectReference<IGatewayObserver>(this);
                var subscription = new RoomSubscription(room, client.GetGrain<IRoomGrain>(room), GatewayId, _observer, _timing, silos, metrics, logger);
                subscription.RenewalSlice = _nextRenewalSlice++ % RenewalSlices;
                _rooms.Add(room, new Entry { Subscription = subscription });
            }

            ref var entry = ref CollectionsMarshal.GetValueRefOrNullRef(_rooms, room);
            entry.Holders++;
            return entry.Subscription;
        }
    }

    /// <summary>Drops one holder; true when it was the last and the subscription is gone.</summary>
    private bool Release(RoomSubscription subscription)
    {
        lock (_lock)
        {
            ref var entry = ref CollectionsMarshal.GetValueRefOrNullRef(_rooms, subscription.Room);
            if (--entry.Holders > 0)
            {
                return false;
            }

            _rooms.Remove(subscription.Room);
            return true;
        }
    }

    private RoomSubscription? Find(string room)
    {
        lock (_lock)
        {
            return _rooms.TryGetValue(room, out var entry) ? entry.Subscription : null;
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
            // The next tick tries again; the room's lease outlasts several missed renewals. The room
            // may have moved with its silo: the subscription catches up once it answers.
            LogRenewalFailed(logger, exception, subscription.Room);
            subscription.Suspect();
        }
    }

    /// <summary>A room's subscription and the sessions holding it (joining or joined), under the lock.</summary>
    private struct Entry
    {
        public RoomSubscription Subscription;
        public int Holders;
    }

    [LoggerMessage(EventId = 3001, Level = LogLevel.Warning, Message = "Renewing the subscription to room {Room} failed")]
    private static partial void LogRenewalFailed(ILogger logger, Exception exception, string room);

    [LoggerMessage(EventId = 3002, Level = LogLevel.Warning, Message = "Joining room {Room} failed")]
    private static partial void LogJoinFailed(ILogger logger, Exception exception, string room);

    [LoggerMessage(EventId = 3005, Level = LogLevel.Information, Message = "Posting to room {Room} failed before the message log answered; trying again")]
    private static partial void LogPostRetried(ILogger logger, Exception exception, string room);

    [LoggerMessage(EventId = 3003, Level = LogLevel.Information, Message = "Joining room {Room} failed before the room answered; trying again")]
    private static partial void LogJoinRetried(ILogger logger, Exception exception, string room);

    [LoggerMessage(EventId = 3006, Level = LogLevel.Error, Message = "Handing the events of room {Room} to its sessions failed")]
    private static partial void LogDeliveryFailed(ILogger logger, Exception exception, string room);

    [LoggerMessage(EventId = 3004, Level = LogLevel.Warning, Message = "Leaving room {Room} failed")]
    private static partial void LogLeaveFailed(ILogger logger, Exception exception, string room);
}
