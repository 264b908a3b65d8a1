namespace Chat.Orleans;

/// <summary>
/// Consecutive events of one room activation, each a ready-to-send UTF-8 JSON frame, serialized once
/// by the room for every recipient. <see cref="FirstSequence"/> numbers the first frame; a gateway
/// that sees a gap knows it missed events. <see cref="LastMessageTimestamp"/> is the newest chat
/// message's timestamp among the frames (0 if none), for measuring broadcast latency.
/// </summary>
[GenerateSerializer, Immutable, Alias("chat.RoomEvents")]
public sealed record RoomEvents(string Room, long Epoch, long FirstSequence, byte[][] Frames, long LastMessageTimestamp);
