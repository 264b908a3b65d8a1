namespace Chat.Orleans.Grains.Storage;

/// <summary>One row of the append-only message log.</summary>
public sealed record StoredMessage(string Room, long Timestamp, string Name, string Message);
