using Microsoft.Extensions.Logging;

namespace Chat.Orleans.Grains.Rooms;

/// <summary>
/// The silo's channels to gateways, one per gateway that has members in any of the silo's rooms: rooms
/// open a channel when a gateway subscribes and release it when the gateway leaves or the room ends.
/// </summary>
public sealed class GatewayOutbox(RoomMetrics metrics, ILogger<GatewayOutbox> logger)
{
    private readonly Lock _lock = new();
    private readonly Dictionary<Guid, GatewayChannel> _channels = [];

    internal GatewayChannel Open(Guid gatewayId)
    {
        lock (_lock)
        {
            if (!_channels.TryGetValue(gatewayId, out var channel))
            {
                channel = new GatewayChannel(gatewayId, metrics, logger);
                _channels.Add(gatewayId, channel);
            }

            channel.Links++;
            return channel;
        }
    }

    /// <summary>
    /// One link no longer uses <paramref name="channel"/>. The last one closes it; what it still holds is
    /// sent (a room that deactivates leaves its last events on the way).
    /// </summary>
    internal void Release(GatewayChannel channel)
    {
        lock (_lock)
        {
            if (--channel.Links == 0)
            {
                _channels.Remove(channel.GatewayId);
            }
        }
    }
}
