namespace Chat.Orleans.Grains.Storage;

/// <summary>
/// One row of the append-only message log. <see cref="PostKey"/> is the post's idempotency key (null for
/// none): the client's message id, or a key its gateway made (<see cref="PostKeys"/>). <see cref="User"/>
/// is the verified author's user id, null for an anonymous one. As read: <see cref="EditedAt"/> when its
/// text was last edited, and <see cref="Reactions"/> its reaction counts as a JSON object (null: none).
/// </summary>
public sealed record StoredMessage(string Room, long Timestamp, string Name, string Message, string? PostKey = null, string? User = null, long? EditedAt = null, string? Reactions = null);
