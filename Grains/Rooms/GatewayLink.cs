using Microsoft.Extensions.Logging;

namespace Chat.Orleans.Grains.Rooms;

/// <summary>
/// The room's side of one gateway's subscription: its members, its lease, and the queue of events
/// not yet delivered to it. Runs on the room's scheduler only, so it needs no locks.
/// </summary>
internal sealed partial class GatewayLink(Guid gatewayId, long epoch, long nextSequence, RoomMetrics metrics, ILogger logger)
{
    private readonly List<byte[]> _pending = [];
    private long _nextSequence = nextSequence;
    private long _lastMessageTimestamp;
    private bool _sending;

    public Guid GatewayId { get; } = gatewayId;

    public IRoomObserver? Observer { get; set; }

    public long Version { get; set; } = long.MinValue;

    public long LeaseExpires { get; set; }

    public Dictionary<long, RoomMemberEntry> Members { get; } = [];

    /// <summary>Queues one event; the caller numbers events so that this link's sequence follows the room's.</summary>
    public void Enqueue(byte[] frame, long messageTimestamp, int maxPending)
    {
        if (_pending.Count >= maxPending)
        {
            // The gateway is not keeping up (or is gone). Dropping is safe: it notices the gap in
            // sequence numbers and reconnects its sessions, which then get the history again.
            LogEventsDropped(logger, _pending.Count, GatewayId);
            metrics.EventsDropped(_pending.Count);
            _nextSequence += _pending.Count;
            _pending.Clear();
        }

        _pending.Add(frame);
        _lastMessageTimestamp = Math.Max(_lastMessageTimestamp, messageTimestamp);
        if (!_sending)
        {
            _sending = true;
            _ = SendAsync();
        }
    }

    /// <summary>Stops delivery: the gateway is gone, or has no members left here and dropped its observer.</summary>
    public void Detach()
    {
        Observer = null;
        _pending.Clear();
    }

    private async Task SendAsync()
    {
        while (_pending.Count > 0 && Observer is { } observer)
        {
            // Everything that queued while the previous call was in flight goes in one call.
            var frames = _pending.ToArray();
            _pending.Clear();
            var events = new RoomEvents(epoch, _nextSequence, frames, _lastMessageTimestamp);
            _lastMessageTimestamp = 0;
            _nextSequence += frames.Length;
            try
            {
                await observer.OnEvents(events);
            }
            catch (Exception exception)
            {
                LogDeliveryFailed(logger, exception, frames.Length, GatewayId);
            }
        }

        _sending = false;
    }

    [LoggerMessage(EventId = 1101, Level = LogLevel.Warning, Message = "Delivering {Count} events to gateway {GatewayId} failed")]
    private static partial void LogDeliveryFailed(ILogger logger, Exception exception, int count, Guid gatewayId);

    [LoggerMessage(EventId = 1102, Level = LogLevel.Warning, Message = "Dropped {Count} events queued for gateway {GatewayId}, which is not keeping up")]
    private static partial void LogEventsDropped(ILogger logger, int count, Guid gatewayId);
}

