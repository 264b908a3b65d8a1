namespace Chat.Orleans;

/// <summary>
/// A message could not be written to the history, so it was not relayed either. Serializable, so the
/// gateway receives the reason rather than a codec error.
/// </summary>
[GenerateSerializer, Alias("chat.MessageNotStoredException")]
public sealed class MessageNotStoredException : Exception
{
    public MessageNotStoredException()
    {
    }

    public MessageNotStoredException(string reason)
        : base($"The message could not be stored: {reason}")
    {
    }

    public MessageNotStoredException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
