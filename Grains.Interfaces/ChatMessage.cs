namespace Chat.Orleans;

/// <summary>One stored chat message as scrollback returns it; <see cref="Id"/> is the client's id, if it sent one.</summary>
[GenerateSerializer, Immutable, Alias("chat.ChatMessage")]
public sealed record ChatMessage(long Timestamp, string Name, string Message, string? Id);
