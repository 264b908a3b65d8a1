namespace Chat.Orleans;

/// <summary>A public room and the sessions in it now, for the rooms directory (PROTOCOL.md, "Rooms directory").</summary>
[GenerateSerializer, Immutable, Alias("chat.RoomCount")]
public sealed record RoomCount(string Room, int Members);
