using Chat.Orleans.Gateway.Sessions;

namespace Chat.Orleans.Gateway.Rooms;

/// <summary>
/// This gateway's one observer of one room: receives each room event once and hands the same frame to
/// every local session in the room. It also owns the gateway's member list for the room, which it
/// sends with every renewal.
/// </summary>
public sealed partial class RoomSubscription(string room, IRoomGrain grain, Guid gatewayId, GatewayMetrics metrics, ILogger logger) : IRoomObserver
{
    private readonly Lock _lock = new();
    private readonly Dictionary<long, RoomMember> _members = [];

    // Copy-on-write, so that fan-out reads it without a lock.
    private ChatSession[] _sessions = [];
    private long _version;

    // The room activation this gateway follows. A different one means the room moved (its silo died)
    // and the events between the two were never delivered here.
    private long _epoch;

    // Touched only by OnEvents, which Orleans calls one at a time.
    private long _sequenceEpoch;
    private long _nextSequence;

    public string Room { get; } = room;

    /// <summary>
    /// The room grain, resolved once: GetGrain on every message took a lock and read attributes, and
    /// showed as 13% of the gateway's busy time under load.
    /// </summary>
    public IRoomGrain Grain { get; } = grain;

    /// <summary>The reference the room calls back; set once by the registry.</summary>
    public IRoomObserver Reference { get; set; } = null!;

    /// <summary>Which of the registry's renewal ticks renews this subscription.</summary>
    internal int RenewalSlice { get; set; }

    /// <summary>Sessions holding this subscription (guarded by the registry's lock).</summary>
    internal int Holders { get; set; }

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
            // failed). Silent gaps are not acceptable: the sessions reconnect and get the history again.
            LogEventsMissed(logger, Room, events.FirstSequence - _nextSequence);
            Resync(except: null);
        }

        _nextSequence = events.FirstSequence + events.Frames.Length;
        var sessions = Volatile.Read(ref _sessions);
        foreach (var session in sessions)
        {
            session.Deliver(events);
        }

        metrics.Relayed(events.Frames.Length, sessions.Length, events.LastMessageTimestamp);

        return Task.CompletedTask;
    }

    public Task<RoomSnapshot> JoinAsync(ChatSession session, RoomMember member)
    {
        long version;
        lock (_lock)
        {
            // Added before the call, so that the session buffers every event from here on and a
            // renewal sent meanwhile already lists the member.
            if (Array.IndexOf(_sessions, session) < 0)
            {
                _sessions = [.. _sessions, session];
            }

            _members[member.SessionId] = member;
            version = ++_version;
        }

        return Grain.Join(new GatewaySubscription(gatewayId, Reference, version), member);
    }

    public Task LeaveAsync(ChatSession session, long sessionId)
    {
        long version;
        lock (_lock)
        {
            _sessions = Array.FindAll(_sessions, s => s != session);
            _members.Remove(sessionId);
            version = ++_version;
        }

        return Grain.Leave(gatewayId, version, sessionId);
    }

    public async Task RenewAsync()
    {
        RoomMember[] members;
        long version;
        lock (_lock)
        {
            members = [.. _members.Values];
            version = _version;
        }

        if (members.Length == 0)
        {
            // Only sessions still joining hold this subscription (their joins may wait in line): an
            // empty renewal would tell the room that this gateway left, and an empty room deactivates
            // under the joins on their way, which then find a new activation and resync. Leaves
            // already told the room; a gateway that says nothing lapses after the lease.
            return;
        }

        ObserveEpoch(await Grain.Renew(new GatewaySubscription(gatewayId, Reference, version), members), except: null);
    }

    /// <summary>
    /// Notes the room activation seen in a reply or an event. When it is a new one, every session that
    /// followed the old one (all but <paramref name="except"/>, which has just joined the new one) may
    /// have missed events, and reconnects to get the history again.
    /// </summary>
    public void ObserveEpoch(long epoch, ChatSession? except)
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

    private void Resync(ChatSession? except)
    {
        foreach (var session in Volatile.Read(ref _sessions))
        {
            if (session != except)
            {
                session.CloseForResync();
            }
        }
    }

    [LoggerMessage(EventId = 3102, Level = LogLevel.Warning, Message = "Room {Room} was re-activated; its sessions on this gateway reconnect to catch up")]
    private static partial void LogRoomMoved(ILogger logger, string room);

    [LoggerMessage(EventId = 3101, Level = LogLevel.Warning, Message = "Room {Room} events missed ({Missed}); its sessions on this gateway reconnect")]
    private static partial void LogEventsMissed(ILogger logger, string room, long missed);
}
