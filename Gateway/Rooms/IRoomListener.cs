namespace Chat.Orleans.Gateway.Rooms;

/// <summary>A session in a room, as the gateway's subscription to that room sees it.</summary>
public interface IRoomListener
{
    /// <summary>A batch of the room's events, in order; called for one batch at a time.</summary>
    void OnEvents(RoomEvents events);

    /// <summary>
    /// The room moved to a new activation or events were lost on the way: what this listener shows may
    /// have a gap, and it must start over.
    /// </summary>
    void OnResync();
}
