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
}
