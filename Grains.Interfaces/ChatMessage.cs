namespace Chat.Orleans;

/// <summary>
/// One stored chat message as scrollback returns it; <see cref="Id"/> is the client's id, if it sent one,
/// and <see cref="User"/> its verified author's user id, if it had one; <see cref="EditedAt"/> and
/// <see cref="Reactions"/> (a JSON object of counts) as on its message frame.
/// </summary>
[GenerateSerializer, Immutable, Alias("chat.ChatMessage")]
public sealed record ChatMessage(long Timestamp, string Name, string Message, string? Id, string? User = null, long? EditedAt = null, string? Reactions = null);
