namespace Chat.Orleans.Grains.Storage;

/// <summary>The message could not be written to the log, so it was not relayed either.</summary>
public sealed class MessageNotStoredException(string reason)
    : Exception($"The message could not be stored: {reason}");
