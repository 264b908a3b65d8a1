namespace Chat.Orleans;

/// <summary>
/// A named session on a gateway. The session id is unique within its gateway only; <see cref="User"/> is
/// the verified user id (token <c>sub</c>) of a verified session, null for an anonymous one.
/// </summary>
[GenerateSerializer, Immutable, Alias("chat.RoomMember")]
public sealed record RoomMember(long SessionId, string Name, string? User = null);
