using Chat.Orleans.Gateway.Connections;

namespace Chat.Orleans.Gateway.Sessions;

/// <summary>
/// A joining session's room frames, put in the protocol's order: the roster, the history, the events
/// that happened meanwhile (without the ones the snapshot already holds), the session's own
/// <c>joined</c>, then <c>ready</c>, then everything live.
/// </summary>
/// <remarks>
/// Room events arrive from the moment the session is listed in the room's subscription, before the
/// join call has returned its snapshot; until then they wait here. Events and the snapshot come from
/// different threads, so the hand-over is under a lock; once live, events pass straight through.
/// </remarks>
public sealed class RoomFeed(IFrameSink sink)
{
    private readonly Lock _lock = new();
    private volatile Stage _stage = Stage.AwaitingSnapshot;
    private List<(long Epoch, long Sequence, byte[] Frame)>? _waiting = [];
    private long _snapshotEpoch;
    private long _snapshotSequence;
    private byte[]? _resumed;

    private enum Stage
    {
        // Room events wait until the snapshot (roster and history) has been sent.
        AwaitingSnapshot,

        // Snapshot sent; events flow, and `ready` follows this session's own `joined` event.
        AwaitingOwnJoined,
        Live,
    }

    /// <summary>True once <c>ready</c> has been sent.</summary>
    public bool IsLive => _stage == Stage.Live;

    /// <summary>A batch of room events, in the room's order.</summary>
    public void OnEvents(RoomEvents events)
    {
        if (_stage == Stage.Live)
        {
            foreach (var frame in events.Frames)
            {
                sink.Send(frame);
            }

            return;
        }

        lock (_lock)
        {
            for (var i = 0; i < events.Frames.Length; i++)
            {
                Deliver(events.Epoch, events.FirstSequence + i, events.Frames[i]);
            }
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

            foreach (var frame in snapshot.History)
            {
                sink.Send(frame);
            }

            var waiting = _waiting!;
            _waiting = null;
            _snapshotEpoch = snapshot.Epoch;
            _snapshotSequence = snapshot.Sequence;
            _resumed = snapshot.Resumed switch { true => ChatFrames.Resumed, false => ChatFrames.NotResumed, null => null };
            _stage = Stage.AwaitingOwnJoined;
            foreach (var (epoch, sequence, frame) in waiting)
            {
                Deliver(epoch, sequence, frame);
            }
        }
    }

    private void Deliver(long epoch, long sequence, byte[] frame)
    {
        switch (_stage)
        {
            case Stage.AwaitingSnapshot:
                _waiting!.Add((epoch, sequence, frame));
                break;
            case Stage.AwaitingOwnJoined:
                if (epoch == _snapshotEpoch && sequence <= _snapshotSequence)
                {
                    // Already in the roster and history. (Such events can also arrive after the
                    // snapshot: the join's reply may overtake an observer call still on its way.)
                    break;
                }

                sink.Send(frame);
                if (epoch == _snapshotEpoch && sequence == _snapshotSequence + 1)
                {
                    // A resumed join says, right before ready, whether it closed the client's gap.
                    if (_resumed is not null)
                    {
                        sink.Send(_resumed);
                    }

                    sink.Send(ChatFrames.Ready);
                    _stage = Stage.Live;
                }

                break;
            case Stage.Live:
                sink.Send(frame);
                break;
        }
    }
}
