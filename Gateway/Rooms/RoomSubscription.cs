namespace Chat.Orleans.Gateway.Rooms;

/// <summary>
/// This gateway's one observer of one room: receives each room event once and hands the same frames to
/// every local listener in the room. It also owns the gateway's member list for the room, which goes
/// with every join, leave and renewal, and it watches the room's activation epoch: a listener that may
/// have missed events is told to start over.
/// </summary>
public sealed partial class RoomSubscription(string room, IRoomGrain grain, Guid gatewayId, GatewayMetrics metrics, ILogger logger) : IRoomObserver
{
    private readonly Lock _lock = new();
    private readonly MemberList _members = new();

    // Copy-on-write, so that fan-out reads it without a lock.
    private IRoomListener[] _listeners = [];

    // The room activation this gateway follows. A different one means the room moved (its silo died)
    // and the events between the two were never delivered here.
    private long _epoch;

    // Touched only by OnEvents, which Orleans calls one at a time.
    private long _sequenceEpoch;
    private long _nextSequence;

    public string Room { get; } = room;

    /// <summary>The reference the room calls back; set once by the registry.</summary>
    public IRoomObserver Reference { get; set; } = null!;

    /// <summary>Which of the registry's renewal ticks renews this subscription.</summary>
    internal int RenewalSlice { get; set; }

    public Task OnEvents(RoomEvents events)
    {
        // Orleans delivers one call at a time to an observer, so the sequence check needs no lock.
        if (events.Epoch != _sequenceEpoch)
        {
            // The first events of an activation set the baseline for gap detection.
            _sequenceEpoch = events.Epoch;
            ObserveEpoch(events.Epoch, except: null);
        }
        else if (events.FirstSequence != _nextSequence)
        {
            // Events were lost on the way (the room dropped them for a stalled gateway, or a call
            // failed). Silent gaps are not acceptable: the listeners start over.
            LogEventsMissed(logger, Room, events.FirstSequence - _nextSequence);
            Resync(except: null);
        }

        _nextSequence = events.FirstSequence + events.Frames.Length;
        var listeners = Volatile.Read(ref _listeners);
        foreach (var listener in listeners)
        {
            listener.OnEvents(events);
        }

        metrics.Relayed(events.Frames.Length, listeners.Length, events.LastMessageTimestamp);

        return Task.CompletedTask;
    }

    /// <summary>
    /// Adds a member and joins the room with it. The listener is added before the call, so it receives
    /// every event from here on (the snapshot tells it which ones it already has), and a renewal sent
    /// meanwhile already lists the member.
    /// </summary>
    public async Task<RoomSnapshot> JoinAsync(IRoomListener listener, RoomMember member, long? since)
    {
        lock (_lock)
        {
            if (Array.IndexOf(_listeners, listener) < 0)
            {
                _listeners = [.. _listeners, listener];
            }
        }

        var version = _members.Add(member);
        var snapshot = await grain.Join(new GatewaySubscription(gatewayId, Reference, version), member, since);

        // The joining listener follows this activation from its snapshot on; the others may be behind.
        ObserveEpoch(snapshot.Epoch, except: listener);
        return snapshot;
    }

    public Task LeaveAsync(IRoomListener listener, long sessionId)
    {
        lock (_lock)
        {
            _listeners = Array.FindAll(_listeners, l => l != listener);
        }

        var version = _members.Remove(sessionId);
        return grain.Leave(gatewayId, version, sessionId);
    }

    /// <summary>Stores and relays a message; see <see cref="RoomMembership.PostAsync"/>.</summary>
    public Task<long> PostAsync(string name, string message, string key) => grain.Post(name, message, key);

    public async Task RenewAsync()
    {
        var (members, version) = _members.Read();
        if (members.Length == 0)
        {
            // Only sessions still joining hold this subscription (their joins may wait in line): an
            // empty renewal would tell the room that this gateway left, and an empty room deactivates
            // under the joins on their way, which then find a new activation and resync. Leaves
            // already told the room; a gateway that says nothing lapses after the lease.
            return;
        }

        ObserveEpoch(await grain.Renew(new GatewaySubscription(gatewayId, Reference, version), members), except: null);
    }

    /// <summary>
    /// Notes the room activation seen in a reply or an event. When it is a new one, every listener that
    /// followed the old one (all but <paramref name="except"/>, which has just joined the new one) may
    /// have missed events, and starts over.
    /// </summary>
    private void ObserveEpoch(long epoch, IRoomListener? except)
    {
        long previous;
        lock (_lock)
        {
            previous = _epoch;
            if (previous == epoch)
            {
                return;
            }

            _epoch = epoch;
        }

        if (previous != 0)
        {
            LogRoomMoved(logger, Room);
            Resync(except);
        }
    }

    private void Resync(IRoomListener? except)
    {
        foreach (var listener in Volatile.Read(ref _listeners))
        {
            if (listener != except)
            {
                listener.OnResync();
            }
        }
    }

    [LoggerMessage(EventId = 3102, Level = LogLevel.Warning, Message = "Room {Room} was re-activated; its sessions on this gateway reconnect to catch up")]
    private static partial void LogRoomMoved(ILogger logger, string room);

    [LoggerMessage(EventId = 3101, Level = LogLevel.Warning, Message = "Room {Room} events missed ({Missed}); its sessions on this gateway reconnect")]
    private static partial void LogEventsMissed(ILogger logger, string room, long missed);
}
