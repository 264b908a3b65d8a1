using System.Diagnostics.Metrics;

namespace Chat.Orleans.Gateway;

/// <summary>The gateway side of the chat, as OpenTelemetry metrics (meter "Chat.Gateway").</summary>
public sealed class GatewayMetrics
{
    public const string MeterName = "Chat.Gateway";

    private readonly UpDownCounter<int> _socketsOpen;
    private readonly Counter<long> _tokensRefused;
    private readonly Counter<long> _moderationActions;
    private readonly Counter<long> _sessionsBanned;
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
        _tokensRefused = meter.CreateCounter<long>("chat.tokens.refused", description: "Tokens refused, by reason (signature, expired, ...).");
        _moderationActions = meter.CreateCounter<long>("chat.moderation.actions", description: "Moderation actions carried out through this gateway, by action.");
        _sessionsBanned = meter.CreateCounter<long>("chat.sessions.banned", description: "Sessions closed or refused by a ban.");
    }

    public void TokenRefused(string reason) => _tokensRefused.Add(1, new KeyValuePair<string, object?>("reason", reason));

    public void ModerationAction(string action) => _moderationActions.Add(1, new KeyValuePair<string, object?>("action", action));

    public void SessionBanned() => _sessionsBanned.Add(1);

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
