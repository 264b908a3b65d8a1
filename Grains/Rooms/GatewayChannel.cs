using Microsoft.Extensions.Logging;

namespace Chat.Orleans.Grains.Rooms;

/// <summary>
/// Everything this silo's rooms owe one gateway, sent one call at a time: while a call is in flight, the
/// events that every room queues for the gateway wait, and the next call carries them all. A thousand
/// quiet rooms thus cost a gateway one call per round trip, not one per message.
/// </summary>
/// <remarks>
/// Rooms queue from their own turns, so the queue is under a lock. Each room's events keep their order
/// and numbers: a room's link is listed at most once per call, with its frames in the order queued, and
/// calls do not overlap. The calls are made off any grain's scheduler (a room that deactivates does not
/// take the channel with it).
/// </remarks>
internal sealed partial class GatewayChannel(Guid gatewayId, RoomMetrics metrics, ILogger logger)
{
    private readonly Lock _lock = new();
    private readonly List<GatewayLink> _waiting = [];
    private IGatewayObserver? _observer;
    private bool _sending;

    public Guid GatewayId { get; } = gatewayId;

    /// <summary>Links using this channel; kept by <see cref="GatewayOutbox"/> under its own lock.</summary>
    internal int Links { get; set; }

    /// <summary>The gateway's observer, the same for all its rooms; every subscription call brings it.</summary>
    public IGatewayObserver? Observer
    {
        get
        {
            lock (_lock)
            {
                return _observer;
            }
        }

        set
        {
            lock (_lock)
            {
                _observer = value;
            }
        }
    }

    /// <summary>Queues one event of the link's room; the room numbers its events so that the link's sequence follows its own.</summary>
    public void Enqueue(GatewayLink link, byte[] frame, long messageTimestamp, int maxPending)
    {
        var dropped = 0;
        lock (_lock)
        {
            if (link.Detached)
            {
                return;
            }

            if (link.Pending.Count >= maxPending)
            {
                // The gateway is not keeping up (or is gone). Dropping is safe: it notices the gap in
                // sequence numbers and catches up from the room.
                dropped = link.Pending.Count;
                link.NextSequence += dropped;
                link.Pending.Clear();
            }

            link.Pending.Add(frame);
            link.LastMessageTimestamp = Math.Max(link.LastMessageTimestamp, messageTimestamp);
            if (!link.Waiting)
            {
                link.Waiting = true;
                _waiting.Add(link);
            }

            if (!_sending)
            {
                _sending = true;
                ThreadPool.UnsafeQueueUserWorkItem(static channel => _ = channel.SendAsync(), this, preferLocal: false);
            }
        }

        if (dropped > 0)
        {
            LogEventsDropped(logger, dropped, GatewayId);
            metrics.EventsDropped(dropped);
        }
    }

    /// <summary>Stops delivery for one room: the gateway left it, or was taken for dead.</summary>
    public void Detach(GatewayLink link)
    {
        lock (_lock)
        {
            link.Detached = true;
            link.Pending.Clear();
            if (link.Waiting)
            {
                link.Waiting = false;
                _waiting.Remove(link);
            }
        }
    }

    private async Task SendAsync()
    {
        while (true)
        {
            RoomEvents[] batch;
            IGatewayObserver observer;
            lock (_lock)
            {
                if (_waiting.Count == 0 || _observer is null)
                {
                    _sending = false;
                    return;
                }

                observer = _observer;
                batch = new RoomEvents[_waiting.Count];
                for (var i = 0; i < batch.Length; i++)
                {
                    batch[i] = _waiting[i].TakePending();
                }

                _waiting.Clear();
            }

            try
            {
                await observer.OnEvents(batch);
            }
            catch (Exception exception)
            {
                // Those events are lost for this gateway; it sees the gap at its next event or renewal
                // of each room, and catches up.
                LogDeliveryFailed(logger, exception, batch.Length, GatewayId);
            }
        }
    }

    [LoggerMessage(EventId = 1101, Level = LogLevel.Warning, Message = "Delivering the events of {Rooms} rooms to gateway {GatewayId} failed")]
    private static partial void LogDeliveryFailed(ILogger logger, Exception exception, int rooms, Guid gatewayId);

    [LoggerMessage(EventId = 1102, Level = LogLevel.Warning, Message = "Dropped {Count} events queued for gateway {GatewayId}, which is not keeping up")]
    private static partial void LogEventsDropped(ILogger logger, int count, Guid gatewayId);
}
