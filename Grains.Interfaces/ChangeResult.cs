namespace Chat.Orleans;

/// <summary>How a room answered an edit or a reaction (PROTOCOL.md, "Rich rooms").</summary>
[GenerateSerializer, Alias("chat.ChangeResult")]
public enum ChangeResult
{
    Done,

    /// <summary>No message with that timestamp, or it is deleted.</summary>
    NoSuchMessage,

    /// <summary>An edit of a message by someone else.</summary>
    NotAllowed,

    /// <summary>A reaction with a new emoji on a message that has the most distinct emoji it may have.</summary>
    TooManyEmoji,
}
