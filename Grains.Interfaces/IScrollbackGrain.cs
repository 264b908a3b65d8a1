namespace Chat.Orleans;

/// <summary>
/// Reads older messages of any room from the message log (PROTOCOL.md, "Scrollback"), without
/// activating the room: a stateless worker, as many as the load needs on every silo.
/// </summary>
[Alias("chat.IScrollbackGrain")]
public interface IScrollbackGrain : IGrainWithIntegerKey
{
    /// <summary>The newest <paramref name="limit"/> messages of the room older than <paramref name="before"/>, oldest first.</summary>
    [Alias("ReadBefore")]
    Task<ChatMessage[]> ReadBefore(string room, long before, int limit);
}
