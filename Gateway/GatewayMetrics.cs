using System.Diagnostics.Metrics;

namespace Chat.Orleans.Gateway;

/// <summary>The gateway side of the chat, as OpenTelemetry metrics (meter "Chat.Gateway").</summary>
public sealed class GatewayMetrics
{
    public const string MeterName = "Chat.Gateway";

    private readonly UpDownCounter<int> _socketsOpen;
    private readonly Counter<long> _socketsRefused;
    private readonly Counter<long> _socketsRefusedForAddress;
    private readonly Counter<long> _messagesRelayed;
    private readonly Histogram<double> _broadcastLatency;
    private readonly Counter<long> _rateLimited;
    private readonly Counter<long> _sendQueueOverflows;

    public GatewayMetrics(IMeterFactory meterFactory)
    {
        var meter = meterFactory.Create(MeterName);
        _socketsOpen = meter.CreateUpDownCounter<int>("chat.sockets.open", description: "Chat sockets open on this gateway.");
        _socketsRefused = meter.CreateCounter<long>("chat.sockets.refused", description: "Chat sockets refused (503) because the gateway holds its maximum.");
        _socketsRefusedForAddress = meter.CreateCounter<long>("chat.sockets.refused_per_ip", description: "Chat sockets refused (429) because their client address is over its socket or join limit.");
        _messagesRelayed = meter.CreateCounter<long>("chat.frames.relayed", description: "Room frames handed to local sockets.");
        _broadcastLatency = meter.CreateHistogram<double>("chat.broadcast.latency", unit: "ms", description: "From a message's timestamp (assigned before it is stored) to its arrival at this gateway.");
        _rateLimited = meter.CreateCounter<long>("chat.messages.rate_limited", description: "Messages refused by the rate limit.");
        _sendQueueOverflows = meter.CreateCounter<long>("chat.send_queue.overflows", description: "Sockets closed because they fell too far behind.");
    }

    public void SocketOpened() => _socketsOpen.Add(1);

    public void SocketClosed() => _socketsOpen.Add(-1);

    public void SocketRefused() => _socketsRefused.Add(1);

    public void SocketRefusedForAddress() => _socketsRefusedForAddress.Add(1);

    public void Relayed(int frames, int sessions, long lastMessageTimestamp)
    {
        _messagesRelayed.Add((long)frames * sessions);
        if (lastMessageTimestamp > 0)
        {
            _broadcastLatency.Record(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() - lastMessageTimestamp);
        }
    }

    public void RateLimited() => _rateLimited.Add(1);

    public void SendQueueOverflowed() => _sendQueueOverflows.Add(1);
}
