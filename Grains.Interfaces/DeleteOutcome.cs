namespace Chat.Orleans;

/// <summary>How a room answered a delete (PROTOCOL.md, "Moderation").</summary>
[GenerateSerializer, Alias("chat.DeleteResult")]
public enum DeleteResult
{
    Deleted,

    /// <summary>No message with that timestamp, or it is deleted already.</summary>
    NoSuchMessage,

    /// <summary>The message is by someone else, and the caller is no moderator.</summary>
    NotAllowed,
}

/// <summary>
/// A delete's result and the verified author of the message (null for an anonymous one or none), so
/// that the caller can tell a moderator's delete (audited) from an author's delete of their own.
/// </summary>
[GenerateSerializer, Immutable, Alias("chat.DeleteOutcome")]
public sealed record DeleteOutcome(DeleteResult Result, string? Author);
