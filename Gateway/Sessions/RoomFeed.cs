using Chat.Orleans.Gateway.Connections;
using Chat.Orleans.Gateway.Rooms;

namespace Chat.Orleans.Gateway.Sessions;

/// <summary>
/// A joining session's room frames, put in the protocol's order: the roster, the history, the events
/// that happened meanwhile (without the ones the snapshot already holds), the session's own
/// <c>joined</c>, then <c>ready</c>, then everything live. After the room moved it sends what the
/// session missed (see <see cref="OnCatchUp"/>) and carries on.
/// </summary>
/// <remarks>
/// Room events arrive from the moment the session is listed in the room's subscription, before the
/// join call has returned its snapshot; until then they wait here. Events and the snapshot come from
/// different threads, so the hand-over is under a lock; once live, events pass straight through. The
/// feed keeps its place in the room's events (activation and event number) and the timestamp of the
/// newest message it sent: events it already has are skipped. Frames of a capability the session did
/// not ask for are left out here (one byte tells a chat message from them), and for a session with the
/// presence capability each roster change it is sent is followed by the person's presence entry.
/// </remarks>
public sealed class RoomFeed(IFrameSink sink)
{
    private readonly Lock _lock = new();
    private volatile Stage _stage = Stage.AwaitingSnapshot;

    // Live, and no hand-over under the lock still under way: events may pass straight through. Set only
    // at the end of a locked section, never in the middle: the snapshot's hand-over goes live right after
    // the session's own `joined` and then still sends the events that waited behind it, and an event
    // passing straight through meanwhile would overtake them.
    private volatile bool _passThrough;
    private List<RoomEvents>? _waiting;
    private byte[]? _resumed;
    private byte[]? _caps;

    // What the session asked for (PROTOCOL.md, "Capabilities"), its own typing frame (nobody is told that
    // they are typing), and its presence list when it asked for presence.
    private Capabilities _accepts;
    private byte[]? _ownTyping;
    private PresenceTally? _presence;

    // The feed's place: the last event it has (sent, or held in its snapshot), and its newest message.
    private long _epoch;
    private long _sequence;
    private long _ownJoined;
    private long _lastMessage;

    // Only for a session that joined while its room settled after a move: the roster it was sent. Its
    // snapshot (the new activation's roster) and what the gateway's other sessions know can differ until
    // the gateway's roster check, which then gives this session its own difference.
    private RoomRoster? _roster;

    private enum Stage
    {
        // Room events wait until the snapshot (roster and history) has been sent.
        AwaitingSnapshot,

        // Snapshot sent; events flow, and `ready` follows this session's own `joined` event.
        AwaitingOwnJoined,
        Live,
    }

    /// <summary>
    /// Before the snapshot: keep this session's own roster until the next roster check (see
    /// <see cref="IRoomListener.TrackRoster"/>).
    /// </summary>
    public void TrackRoster()
    {
        lock (_lock)
        {
            _roster ??= new RoomRoster();
        }
    }

    /// <summary>
    /// Before the snapshot: the capabilities the session has, its <c>caps</c> answer (sent right before
    /// <c>ready</c>, after <c>resumed</c>; null for a session that sent no <c>caps</c>), and the typing frame
    /// the room makes for it.
    /// </summary>
    public void Enable(Capabilities caps, byte[]? answer, byte[]? ownTyping)
    {
        _accepts = caps;
        _caps = answer;
        _ownTyping = ownTyping;
        _presence = (caps & Capabilities.Presence) != 0 ? new PresenceTally() : null;
    }

    /// <summary>True once <c>ready</c> has been sent.</summary>
    public bool IsLive => _stage == Stage.Live;

    /// <summary>The newest message sent to the client; null before the snapshot.</summary>
    public long? LastMessageTimestamp => _stage == Stage.AwaitingSnapshot ? null : Volatile.Read(ref _lastMessage);

    /// <summary>A batch of room events, in the room's order.</summary>
    public void OnEvents(RoomEvents events)
    {
        if (_passThrough && events.Epoch == _epoch && events.FirstSequence > _sequence)
        {
            // The hot path: every frame is new.
            foreach (var frame in events.Frames)
            {
                Forward(frame);
            }

            _roster?.ApplyAll(events.Frames);

            _sequence = events.FirstSequence + events.Frames.Length - 1;
            if (events.LastMessageTimestamp > 0)
            {
                Volatile.Write(ref _lastMessage, events.LastMessageTimestamp);
            }

            return;
        }

        lock (_lock)
        {
            if (_stage == Stage.AwaitingSnapshot)
            {
                (_waiting ??= []).Add(events);
            }
            else
            {
                Deliver(events);
            }

            _passThrough = _stage == Stage.Live;
        }
    }

    /// <summary>
    /// The join's snapshot: sends the roster and history, then the events that waited and are newer
    /// than the snapshot. The session's own <c>joined</c> is the event right after the snapshot; it
    /// is followed by <c>ready</c>.
    /// </summary>
    public void OnSnapshot(RoomSnapshot snapshot)
    {
        lock (_lock)
        {
            foreach (var frame in snapshot.Roster)
            {
                sink.Send(frame);
            }

            _roster?.Reset(snapshot.Roster);
            if (_presence is { } presence)
            {
                // Right after the roster: everyone, one entry per person.
                sink.Send(presence.Reset(snapshot.Roster));
            }

            foreach (var frame in snapshot.History)
            {
                sink.Send(frame);
            }

            SendRecent(snapshot.Recent, snapshot.LastRelayed);

            var waiting = _waiting;
            _waiting = null;
            _epoch = snapshot.Epoch;
            _sequence = snapshot.Sequence;
            _ownJoined = snapshot.Sequence + 1;
            _lastMessage = snapshot.LastRelayed;
            _resumed = snapshot.Resumed switch { true => ChatFrames.Resumed, false => ChatFrames.NotResumed, null => null };
            _stage = Stage.AwaitingOwnJoined;
            foreach (var events in waiting ?? [])
            {
                Deliver(events);
            }

            _passThrough = _stage == Stage.Live;
        }
    }

    /// <summary>
    /// What the session missed while the room moved or its events were lost: the messages newer than the
    /// last one it has, then the roster changes. A feed that already follows the room's new activation
    /// (it joined it) or is still waiting for its snapshot takes nothing. A session that was waiting for its
    /// own <c>joined</c> (lost with the old activation) is ready after it.
    /// </summary>
    public void OnCatchUp(RoomCatchUp catchUp, List<byte[]> rosterChanges, bool moved)
    {
        lock (_lock)
        {
            if (_stage == Stage.AwaitingSnapshot || (moved && _epoch == catchUp.Epoch))
            {
                return;
            }

            for (var i = 0; i < catchUp.Messages.Length; i++)
            {
                if (catchUp.Timestamps[i] > _lastMessage)
                {
                    sink.Send(catchUp.Messages[i]);
                    Volatile.Write(ref _lastMessage, catchUp.Timestamps[i]);
                }
            }

            SendRecent(catchUp.Recent, _lastMessage);

            if (_roster is { } own)
            {
                // This session's own difference with the room (see TrackRoster). Once the roster is whole
                // (a catch-up that is not a move), the gateway's sessions all know the room's roster.
                rosterChanges = own.Reconcile(catchUp.Roster, removals: !moved);
                if (!moved)
                {
                    _roster = null;
                }
            }

            foreach (var frame in rosterChanges)
            {
                Forward(frame);
            }

            _sequence = _epoch == catchUp.Epoch ? Math.Max(_sequence, catchUp.Sequence) : catchUp.Sequence;
            _epoch = catchUp.Epoch;
            if (_stage == Stage.AwaitingOwnJoined)
            {
                GoLive();
            }

            _passThrough = _stage == Stage.Live;
        }
    }

    /// <summary>Under the lock, after the snapshot: the batch's frames that the feed does not have yet.</summary>
    private void Deliver(RoomEvents events)
    {
        for (var i = 0; i < events.Frames.Length; i++)
        {
            var sequence = events.FirstSequence + i;
            if (events.Epoch == _epoch && sequence <= _sequence)
            {
                // Already in the roster and history, or in a catch-up. (Such events can also arrive
                // after the snapshot: the join's reply may overtake an observer call still on its way.)
                continue;
            }

            Forward(events.Frames[i]);
            _roster?.Apply(events.Frames[i]);
            var own = _stage == Stage.AwaitingOwnJoined && events.Epoch == _epoch && sequence == _ownJoined;
            _epoch = events.Epoch;
            _sequence = sequence;
            if (own)
            {
                GoLive();
            }
        }

        if (events.LastMessageTimestamp > _lastMessage)
        {
            Volatile.Write(ref _lastMessage, events.LastMessageTimestamp);
        }
    }

    /// <summary>
    /// Sends one room frame, unless it belongs to a capability the session did not ask for or is its own
    /// typing; a roster change is followed by the presence entry it changed, for a session with presence.
    /// </summary>
    private void Forward(byte[] frame)
    {
        if (frame.Length > 2 && frame[2] == (byte)'n')
        {
            // A chat message ({"name": ...}): what nearly every frame is.
            sink.Send(frame);
            return;
        }

        var cap = ChatFrames.CapabilityOf(frame);
        if (cap != Capabilities.None)
        {
            if ((_accepts & cap) != 0 && !(cap == Capabilities.Typing && frame.AsSpan().SequenceEqual(_ownTyping)))
            {
                sink.Send(frame);
            }

            return;
        }

        sink.Send(frame);
        if (_presence?.Apply(frame) is { } change)
        {
            sink.Send(change);
        }
    }

    /// <summary>
    /// Under the lock: <c>deleted</c>, (cap edits) <c>edited</c> and (cap reactions) <c>reactions</c> for the recent changes the client may have
    /// missed, to the messages it can be showing (not newer than <paramref name="shownUpTo"/>). One it has
    /// already applied changes nothing.
    /// </summary>
    private void SendRecent(RecentChanges? recent, long shownUpTo)
    {
        if (recent is null)
        {
            return;
        }

        foreach (var timestamp in recent.Deleted)
        {
            if (timestamp <= shownUpTo)
            {
                sink.Send(ChatFrames.Deleted(timestamp));
            }
        }

        for (var i = 0; i < recent.Edited.Length; i++)
        {
            if (recent.EditedTimestamps[i] <= shownUpTo)
            {
                Forward(recent.Edited[i]);
            }
        }

        for (var i = 0; i < (recent.Reactions?.Length ?? 0); i++)
        {
            if (recent.ReactedTimestamps![i] <= shownUpTo)
            {
                Forward(recent.Reactions![i]);
            }
        }
    }

    private void GoLive()
    {
        // A resumed join says, right before ready, whether it closed the client's gap.
        if (_resumed is not null)
        {
            sink.Send(_resumed);
        }

        if (_caps is not null)
        {
            sink.Send(_caps);
        }

        sink.Send(ChatFrames.Ready);
        _stage = Stage.Live;
    }
}
