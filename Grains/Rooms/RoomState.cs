namespace Chat.Orleans.Grains.Rooms;

/// <summary>
/// The room's small durable state. Written when a room is created and when it deactivates, never per
/// message: the message log is the source of truth for the last timestamp, this only backs it up.
/// </summary>
[GenerateSerializer, Alias("chat.RoomState")]
public sealed class RoomState
{
    [Id(0)]
    public DateTimeOffset Created { get; set; }

    [Id(1)]
    public long LastTimestamp { get; set; }

    /// <summary>Messages stored by activations that ended cleanly (a crashed activation's are not counted).</summary>
    [Id(2)]
    public long MessageCount { get; set; }
}
