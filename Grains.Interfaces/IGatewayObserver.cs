using Orleans.Concurrency;

namespace Chat.Orleans;

/// <summary>
/// One per gateway: every room with members on the gateway sends its events here, once per event, and
/// the gateway fans each one out to its local sockets in that room.
/// </summary>
/// <remarks>
/// One observer per gateway rather than one per gateway and room, so that a silo can carry the events
/// of all its rooms to a gateway in one call (<c>GatewayOutbox</c> in the silo): with a thousand quiet
/// rooms that is one call per batch instead of one per message.
/// </remarks>
[Alias("chat.IGatewayObserver")]
public interface IGatewayObserver : IGrainObserver
{
    /// <remarks>
    /// Not one-way on purpose: a silo awaits each batch before sending the next, which keeps every room's
    /// events in order and lets everything that piled up meanwhile travel in one call.
    /// </remarks>
    [Alias("OnEvents")]
    Task OnEvents(RoomEvents[] batch);

    /// <summary>
    /// The activation <paramref name="epoch"/> of <paramref name="room"/> is ending (its silo is stopping,
    /// or the room is moving): the gateway subscribes to the next one now, rather than at its next renewal.
    /// </summary>
    [OneWay, Alias("OnActivationEnded")]
    Task OnActivationEnded(string room, long epoch);

    /// <summary><paramref name="room"/> was closed: the gateway closes its members' sockets (1000).</summary>
    [OneWay, Alias("OnRoomClosed")]
    Task OnRoomClosed(string room);
}
