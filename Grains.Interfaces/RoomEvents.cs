namespace Chat.Orleans;

/// <summary>
/// Consecutive events of one room activation, each a ready-to-send UTF-8 JSON frame, serialized once
/// by the room for every recipient. <see cref="FirstSequence"/> numbers the first frame; a gateway
/// that sees a gap knows it missed events.
/// </summary>
[GenerateSerializer, Immutable, Alias("chat.RoomEvents")]
public sealed record RoomEvents(long Epoch, long FirstSequence, byte[][] Frames);
