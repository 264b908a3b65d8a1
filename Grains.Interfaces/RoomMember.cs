namespace Chat.Orleans;

/// <summary>A named session on a gateway. The session id is unique within its gateway only.</summary>
[GenerateSerializer, Immutable, Alias("chat.RoomMember")]
public sealed record RoomMember(long SessionId, string Name);
