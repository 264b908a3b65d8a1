using System.Net;
using System.Net.WebSockets;
using Chat.Orleans.Gateway.Connections;
using Chat.Orleans.Gateway.Rooms;
using Microsoft.Extensions.Options;

namespace Chat.Orleans.Gateway.Sessions;

/// <summary>Puts a session together for an accepted socket: its connection, its rate limit, the gateway's rooms.</summary>
public sealed class ChatSessionFactory(
    RoomRegistry rooms,
    SessionPolicy policy,
    SessionDirectory directory,
    IClusterClient cluster,
    IOptions<ChatGatewayOptions> options,
    GatewayMetrics metrics,
    ILogger<ChatConnection> connectionLogger,
    ILogger<ChatSession> sessionLogger,
    ILogger<SessionRateLimit> rateLimitLogger)
{
    public ChatSession Create(WebSocket socket, string room, IPAddress clientAddress)
    {
        var settings = options.Value;
        var connection = new ChatConnection(socket, room, settings, metrics, connectionLogger);
        var rateLimit = settings.RateLimitEnabled
            ? new SessionRateLimit(cluster.GetGrain<IRateLimiterGrain>(clientAddress.ToString()), rateLimitLogger)
            : null;
        return new ChatSession(connection, room, clientAddress, rooms, rateLimit, policy, directory, settings, metrics, sessionLogger);
    }
}
