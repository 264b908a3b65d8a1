using Orleans.Concurrency;

namespace Chat.Orleans;

/// <summary>
/// One per gateway and room: the room sends each event once to each gateway with members in it, and the
/// gateway fans it out to its local sockets.
/// </summary>
[Alias("chat.IRoomObserver")]
public interface IRoomObserver : IGrainObserver
{
    /// <remarks>
    /// Not one-way on purpose: the room awaits each batch before sending the next, which keeps a
    /// gateway's events in order and lets everything that piled up meanwhile travel in one call.
    /// </remarks>
    [Alias("OnEvents")]
    Task OnEvents(RoomEvents events);

    /// <summary>
    /// The activation <paramref name="epoch"/> is ending (its silo is stopping, or the room is moving): the
    /// gateway subscribes to the next one now, rather than at its next renewal.
    /// </summary>
    [OneWay, Alias("OnActivationEnded")]
    Task OnActivationEnded(long epoch);
}
