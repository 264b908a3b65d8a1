namespace Chat.Orleans;

/// <summary>
/// One stored chat message as scrollback returns it; <see cref="Id"/> is the client's id, if it sent one,
/// and <see cref="User"/> its verified author's user id, if it had one.
/// </summary>
[GenerateSerializer, Immutable, Alias("chat.ChatMessage")]
public sealed record ChatMessage(long Timestamp, string Name, string Message, string? Id, string? User = null);
