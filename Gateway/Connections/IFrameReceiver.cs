namespace Chat.Orleans.Gateway.Connections;

/// <summary>What a connection hands each complete text frame from its client to.</summary>
public interface IFrameReceiver
{
    /// <summary>
    /// Called for one frame at a time; the next is read only when the returned task completes. The
    /// frame's memory is reused afterwards, so it is read synchronously, before the first await.
    /// </summary>
    Task OnFrameAsync(ReadOnlySpan<byte> frame);
}
