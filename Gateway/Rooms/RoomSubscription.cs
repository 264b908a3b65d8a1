namespace Chat.Orleans.Gateway.Rooms;

/// <summary>
/// This gateway's subscription to one room: receives each room event once (through the registry, the
/// gateway's one observer) and hands the same frames to every local listener in the room. It also owns
/// the gateway's member list for the room, which goes with every join, leave and renewal.
/// </summary>
/// <remarks>
/// It follows one activation of the room (its epoch) event by event. When the room moves to a new
/// activation (its silo died or stopped) or events were lost on the way, it does not drop its sessions:
/// it holds the live events, subscribes again with <see cref="IRoomGrain.Rejoin"/>, hands its listeners
/// the messages and roster changes they missed, then the events it held. Members see a pause.
/// </remarks>
public sealed partial class RoomSubscription(
    string room,
    IRoomGrain grain,
    Guid gatewayId,
    IGatewayObserver observer,
    RoomSubscription.Timing timing,
    SiloConnections silos,
    GatewayMetrics metrics,
    ILogger logger)
{
    private readonly Lock _listenersLock = new();
    private readonly MemberList _members = new();

    // Copy-on-write, so that fan-out reads it without a lock.
    private IRoomListener[] _listeners = [];

    // Everything below is under _deliveryLock, which also keeps what listeners are handed in order.
    private readonly Lock _deliveryLock = new();
    private readonly RoomRoster _roster = new();
    private Stage _stage = Stage.Positioning;
    private List<RoomEvents>? _held;
    private IRoomListener[] _behind = [];

    // The last event handed on: the room activation followed, and the event's number in it.
    private long _epoch;
    private long _sequence;

    // After a move, when to check the roster against the room again (0: no check due).
    private long _rosterCheckDue;

    // Renewals in a row at which the room counted other members than the sessions know.
    private int _rosterMismatches;

    // Activations this subscription followed before the current one: their late events and replies
    // are covered by the catch-up that followed them.
    private readonly HashSet<long> _endedEpochs = [];

    private enum Stage
    {
        // No join has answered yet: events wait for the first snapshot, which says where they start.
        Positioning,
        Following,

        // Subscribing again after a move or a gap: events wait for the catch-up.
        CatchingUp,
    }

    public string Room { get; } = room;

    /// <summary>Which of the registry's renewal ticks renews this subscription.</summary>
    internal int RenewalSlice { get; set; }

    /// <summary>Consecutive events of the room, in the order the room sent them.</summary>
    public void OnEvents(RoomEvents events)
    {
        lock (_deliveryLock)
        {
            Receive(events);
        }
    }

    /// <summary>The room's activation <paramref name="epoch"/> is ending: catch up with the next one now.</summary>
    public void OnActivationEnded(long epoch)
    {
        lock (_deliveryLock)
        {
            if (_stage == Stage.Following && epoch == _epoch)
            {
                StartCatchUp(moved: true, "its activation ended");
            }
        }
    }

    /// <summary>
    /// Adds a member and joins the room with it. The listener is added before the call, so it receives
    /// every event from here on (the snapshot tells it which ones it already has); renewals list the
    /// member once the room has answered (see <see cref="MemberList"/>).
    /// </summary>
    public async Task<RoomSnapshot> JoinAsync(IRoomListener listener, RoomMember member, long? since)
    {
        lock (_listenersLock)
        {
            if (Array.IndexOf(_listeners, listener) < 0)
            {
                _listeners = [.. _listeners, listener];
            }
        }

        var version = _members.Add(member);
        var snapshot = await grain.Join(new GatewaySubscription(gatewayId, observer, version), member, since);
        _members.Joined(member.SessionId);
        lock (_deliveryLock)
        {
            if (_endedEpochs.Contains(snapshot.Epoch))
            {
                // Joined an activation that has ended since (its reply was late): join the current one.
                throw new InvalidOperationException($"Room {Room} moved while joining.");
            }

            if (_stage == Stage.Positioning)
            {
                // The first answer says where this gateway's events start; the held ones that follow go on.
                _epoch = snapshot.Epoch;
                _sequence = snapshot.Sequence;
                _roster.Reset(snapshot.Roster);
                _stage = Stage.Following;
                ReleaseHeld();
            }
            else if (_stage == Stage.Following && snapshot.Epoch != _epoch)
            {
                // The room moved under the other listeners; this one follows the new activation already.
                StartCatchUp(moved: true, "a join found a new activation");
            }

            if (_stage == Stage.CatchingUp || _rosterCheckDue != 0)
            {
                // The room is settling after a move: its roster (this snapshot's) and the one the other
                // sessions here know may differ until the roster check.
                listener.TrackRoster();
            }
        }

        return snapshot;
    }

    public Task LeaveAsync(IRoomListener listener, long sessionId)
    {
        lock (_listenersLock)
        {
            _listeners = Array.FindAll(_listeners, l => l != listener);
        }

        var version = _members.Remove(sessionId);
        var lost = silos.Lost;
        return grain.Leave(gatewayId, version, sessionId).WaitAsync(lost);
    }

    /// <summary>
    /// Stores and relays a message; see <see cref="RoomMembership.PostAsync"/>. Fails at once when the
    /// silo connection it went over drops (then it may be sent again: the key makes that safe).
    /// </summary>
    public Task<long> PostAsync(string name, string message, string key, string? user)
    {
        var lost = silos.Lost;
        return grain.Post(name, message, key, user).WaitAsync(lost);
    }

    /// <summary>Deletes a message (see <see cref="IRoomGrain.Delete"/>); fails at once when the silo connection drops.</summary>
    public Task<DeleteOutcome> DeleteAsync(long timestamp, string actor, string? requiredAuthor)
    {
        var lost = silos.Lost;
        return grain.Delete(timestamp, actor, requiredAuthor).WaitAsync(lost);
    }

    public void Typing(string name, string? user) => grain.Typing(name, user).Ignore();

    /// <summary>Edits a message (see <see cref="IRoomGrain.Edit"/>); fails at once when the silo connection drops.</summary>
    public Task<ChangeResult> EditAsync(long timestamp, string message, string user)
    {
        var lost = silos.Lost;
        return grain.Edit(timestamp, message, user).WaitAsync(lost);
    }

    /// <summary>Toggles a reaction (see <see cref="IRoomGrain.React"/>); fails at once when the silo connection drops.</summary>
    public Task<ChangeResult> ReactAsync(long timestamp, string emoji, string person)
    {
        var lost = silos.Lost;
        return grain.React(timestamp, emoji, person).WaitAsync(lost);
    }

    /// <summary>The room was closed: every listener here ends its session.</summary>
    public void OnRoomClosed()
    {
        foreach (var listener in Volatile.Read(ref _listeners))
        {
            listener.OnRoomClosed();
        }
    }

    /// <summary>
    /// A call to the room failed without an answer: its silo may have died, and its events with it.
    /// The subscription catches up with the room as soon as it is back.
    /// </summary>
    public void Suspect()
    {
        lock (_deliveryLock)
        {
            if (_stage == Stage.Following)
            {
                StartCatchUp(moved: false, "a room call failed without an answer");
            }
        }
    }

    public async Task RenewAsync()
    {
        lock (_deliveryLock)
        {
            if (_stage == Stage.Following && _rosterCheckDue != 0 && Environment.TickCount64 >= _rosterCheckDue)
            {
                // A while after a move every live gateway has subscribed again: now the room's roster
                // is whole, and members who left during the move can be told apart from the others.
                _rosterCheckDue = 0;
                StartCatchUp(moved: false, "roster check after a move");
                return;
            }
        }

        var (members, version) = _members.Read();
        if (members.Length == 0)
        {
            // Only sessions still joining hold this subscription (their joins may wait in line): an
            // empty renewal would tell the room that this gateway left, and an empty room deactivates
            // under the joins on their way. Leaves already told the room; a gateway that says nothing
            // lapses after the lease.
            return;
        }

        // Bounded like a catch-up's try (see RoomCalls.AttemptBound): the registry's renewals of every
        // room wait for this one, and the next renewal, sent a little later, gets through.
        var lost = silos.Lost;
        var renewal = await grain.Renew(new GatewaySubscription(gatewayId, observer, version), members)
            .WaitAsync(RoomCalls.AttemptBound(timing.UnreachableTimeout), lost);
        lock (_deliveryLock)
        {
            if (_stage != Stage.Following || _endedEpochs.Contains(renewal.Epoch))
            {
                return;
            }

            if (renewal.Epoch != _epoch)
            {
                StartCatchUp(moved: true, "a renewal found a new activation");
            }
            else if (_rosterCheckDue == 0 && renewal.Members != _roster.Total && ++_rosterMismatches >= 2)
            {
                // The sessions' roster and the room's disagree at two renewals in a row (one could be a
                // join or leave on its way): a roster event went missing. The catch-up puts it right.
                LogRosterDrifted(logger, Room, _roster.Total, renewal.Members);
                StartCatchUp(moved: false, "roster drifted");
            }
            else if (renewal.Members == _roster.Total)
            {
                _rosterMismatches = 0;
            }
        }
    }

    /// <summary>One batch of events, under the delivery lock: handed on, held, or the start of a catch-up.</summary>
    private void Receive(RoomEvents events)
    {
        if (_stage != Stage.Following)
        {
            (_held ??= []).Add(events);
            return;
        }

        if (_endedEpochs.Contains(events.Epoch))
        {
            // Late events of an activation already caught up with.
            return;
        }

        var last = events.FirstSequence + events.Frames.Length - 1;
        if (events.Epoch != _epoch || events.FirstSequence > _sequence + 1)
        {
            // A new activation, or events lost on the way (the room dropped them for a stalled gateway,
            // or a delivery failed): this batch waits until the gap is closed.
            if (events.Epoch == _epoch)
            {
                LogEventsMissed(logger, Room, events.FirstSequence - _sequence - 1);
            }

            (_held ??= []).Add(events);
            StartCatchUp(moved: events.Epoch != _epoch, events.Epoch != _epoch ? "events of a new activation" : "events missed");
            return;
        }

        // Events this subscription is already past (a catch-up covered them, or they come before the
        // snapshot it started from) still go to the listeners: one that joined from an older snapshot
        // needs them, and each listener skips what it has.
        List<int>? hidden = null;
        for (var i = (int)Math.Max(0, _sequence + 1 - events.FirstSequence); i < events.Frames.Length; i++)
        {
            if (!_roster.Apply(events.Frames[i]))
            {
                // Rare: a quit the sessions were already given by a catch-up.
                (hidden ??= []).Add(i);
            }
        }

        _sequence = Math.Max(_sequence, last);
        var listeners = Volatile.Read(ref _listeners);
        if (hidden is null)
        {
            foreach (var listener in listeners)
            {
                listener.OnEvents(events);
            }
        }
        else
        {
            foreach (var part in Without(events, hidden))
            {
                foreach (var listener in listeners)
                {
                    listener.OnEvents(part);
                }
            }
        }

        metrics.Relayed(events.Frames.Length, listeners.Length, events.LastMessageTimestamp);
    }

    /// <summary>
    /// The events without the frames at the <paramref name="hidden"/> places, as consecutive parts. Each
    /// keeps the room's numbering (a listener passes over a missing number like any other), so what
    /// comes later is still recognised as new; the last part carries the newest message's timestamp.
    /// </summary>
    private static List<RoomEvents> Without(RoomEvents events, List<int> hidden)
    {
        var parts = new List<RoomEvents>();
        var start = 0;
        foreach (var end in hidden.Append(events.Frames.Length))
        {
            if (end > start)
            {
                parts.Add(new RoomEvents(events.Room, events.Epoch, events.FirstSequence + start, events.Frames[start..end], 0));
            }

            start = end + 1;
        }

        if (parts.Count > 0)
        {
            parts[^1] = parts[^1] with { LastMessageTimestamp = events.LastMessageTimestamp };
        }

        return parts;
    }

    /// <summary>Under the delivery lock: holds the events from now on and subscribes again in the background.</summary>
    private void StartCatchUp(bool moved, string reason)
    {
        _stage = Stage.CatchingUp;

        // The listeners past their snapshot now know the room as this subscription does: the catch-up is
        // theirs. A listener whose snapshot comes later has the room's own roster and history.
        _behind = Array.FindAll(Volatile.Read(ref _listeners), listener => listener.LastMessageTimestamp is not null);
        LogCatchingUp(logger, Room, reason, _epoch, _sequence);
        _ = CatchUpAsync();
    }

    private async Task CatchUpAsync()
    {
        try
        {
            var catchUp = await RoomCalls.RetryAsync(
                RejoinAsync,
                RoomCalls.DeadlineAfter(timing.UnreachableTimeout),
                exception => LogCatchUpRetried(logger, exception, Room),
                RoomCalls.AttemptBound(timing.UnreachableTimeout));
            lock (_deliveryLock)
            {
                Apply(catchUp);
            }
        }
        catch (Exception exception)
        {
            LogCatchUpFailed(logger, exception, Room);
            lock (_deliveryLock)
            {
                GiveUp();
            }
        }
    }

    private Task<RoomCatchUp> RejoinAsync()
    {
        // The oldest point any listener behind stands at; each skips what it already has. (With no
        // listener past its snapshot, nothing is owed: the room reads nothing.)
        var since = long.MaxValue;
        foreach (var listener in _behind)
        {
            since = Math.Min(since, listener.LastMessageTimestamp ?? long.MaxValue);
        }

        var (members, version) = _members.Read();
        var lost = silos.Lost;
        return grain.Rejoin(new GatewaySubscription(gatewayId, observer, version), members, since).WaitAsync(lost);
    }

    /// <summary>Under the delivery lock: hands the catch-up to the listeners, then the events held meanwhile.</summary>
    private void Apply(RoomCatchUp catchUp)
    {
        var moved = catchUp.Epoch != _epoch;
        if (!catchUp.Complete)
        {
            // More missed than the room sends in one catch-up: the sessions start over.
            GiveUp();
            return;
        }

        var rosterChanges = _roster.Reconcile(catchUp.Roster, removals: !moved);
        var listeners = Volatile.Read(ref _listeners);
        foreach (var listener in _behind)
        {
            if (Array.IndexOf(listeners, listener) >= 0)
            {
                listener.OnCatchUp(catchUp, rosterChanges, moved);
            }
        }

        _behind = [];

        LogCaughtUp(logger, Room, catchUp.Epoch, catchUp.Sequence, catchUp.Messages.Length, rosterChanges.Count);
        _rosterMismatches = 0;
        if (moved)
        {
            _endedEpochs.Add(_epoch);
        }

        _epoch = catchUp.Epoch;
        _sequence = catchUp.Sequence;
        _stage = Stage.Following;
        if (moved)
        {
            _rosterCheckDue = Environment.TickCount64 + (long)timing.RosterCheckDelay.TotalMilliseconds;
        }

        ReleaseHeld();
    }

    /// <summary>Under the delivery lock: the listeners start over; the subscription starts over with the next join.</summary>
    private void GiveUp()
    {
        foreach (var listener in Volatile.Read(ref _listeners))
        {
            listener.OnResync();
        }

        _stage = Stage.Positioning;
        _held = null;
        _behind = [];
    }

    /// <summary>Under the delivery lock: the held events, in order, as if they arrived now.</summary>
    private void ReleaseHeld()
    {
        while (_held is { Count: > 0 } held && _stage == Stage.Following)
        {
            _held = null;
            for (var i = 0; i < held.Count; i++)
            {
                if (_stage != Stage.Following)
                {
                    // The held events themselves showed another gap: the rest waits again.
                    (_held ??= []).AddRange(held.Skip(i));
                    break;
                }

                Receive(held[i]);
            }
        }
    }

    /// <summary>How long a room may stay out of reach, and when its roster is checked again after a move.</summary>
    public sealed record Timing(TimeSpan UnreachableTimeout, TimeSpan RosterCheckDelay);

    [LoggerMessage(EventId = 3102, Level = LogLevel.Information, Message = "Room {Room}: its sessions on this gateway catch up in place ({Reason}); they follow activation {Epoch} at event {Sequence}")]
    private static partial void LogCatchingUp(ILogger logger, string room, string reason, long epoch, long sequence);

    [LoggerMessage(EventId = 3101, Level = LogLevel.Warning, Message = "Room {Room} events missed ({Missed}); its sessions on this gateway catch up in place")]
    private static partial void LogEventsMissed(ILogger logger, string room, long missed);

    [LoggerMessage(EventId = 3103, Level = LogLevel.Information, Message = "Room {Room} caught up with activation {Epoch} at event {Sequence}: {Messages} messages and {RosterChanges} roster changes")]
    private static partial void LogCaughtUp(ILogger logger, string room, long epoch, long sequence, int messages, int rosterChanges);

    [LoggerMessage(EventId = 3104, Level = LogLevel.Information, Message = "Catching up with room {Room} failed; trying again")]
    private static partial void LogCatchUpRetried(ILogger logger, Exception exception, string room);

    [LoggerMessage(EventId = 3106, Level = LogLevel.Warning, Message = "Room {Room}: its sessions here know {Known} members, the room {Members}; catching up")]
    private static partial void LogRosterDrifted(ILogger logger, string room, int known, int members);

    [LoggerMessage(EventId = 3105, Level = LogLevel.Warning, Message = "Room {Room} stayed out of reach; its sessions on this gateway reconnect")]
    private static partial void LogCatchUpFailed(ILogger logger, Exception exception, string room);
}
