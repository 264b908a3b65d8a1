namespace Chat.Orleans;

/// <summary>
/// A named session on a gateway. The session id is unique within its gateway only; <see cref="User"/> is
/// the verified user id (token <c>sub</c>) of a verified session, null for an anonymous one.
/// <see cref="Caps"/> are the capabilities the session asked for: the room makes typing, edit and
/// reaction frames only while some member wants them.
/// </summary>
[GenerateSerializer, Immutable, Alias("chat.RoomMember")]
public sealed record RoomMember(long SessionId, string Name, string? User = null, Capabilities Caps = Capabilities.None);
