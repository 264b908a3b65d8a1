using System.Buffers;
using System.Net.WebSockets;
using System.Threading.Channels;
using Chat.Orleans.Gateway.Protocol;

namespace Chat.Orleans.Gateway.Connections;

/// <summary>
/// One client's WebSocket: reads text frames up to the size cap, writes frames from a bounded outbox,
/// and closes with a status code, after an error frame when there is one. Frames and closes come from
/// several threads (the receive loop, room events, timers, grain-call continuations), so every piece
/// of synchronisation a socket needs lives here and nowhere else.
/// </summary>
public sealed partial class ChatConnection : IFrameSink
{
    // Not in WebSocketCloseStatus; RFC 6455 registry: "Service Restart".
    public const WebSocketCloseStatus ServiceRestart = (WebSocketCloseStatus)1012;

    private readonly WebSocket _socket;
    private readonly string _room;
    private readonly ChatGatewayOptions _options;
    private readonly GatewayMetrics _metrics;
    private readonly ILogger _logger;

    // Unbounded channel, bounded by hand: the single-reader channel is the cheapest queue, but cannot count.
    private readonly Channel<byte[]> _outbox = Channel.CreateUnbounded<byte[]>(new UnboundedChannelOptions { SingleReader = true });
    private readonly CancellationTokenSource _closing = new();
    private int _queued;
    private int _queueLimit;

    // Written once, under the outbox's lock: the first close wins.
    private WebSocketCloseStatus? _closeStatus;
    private string? _closeDescription;

    private Task _sending = Task.CompletedTask;
    private CancellationTokenRegistration _onShutdown;
    private CancellationTokenRegistration _onClosing;

    public ChatConnection(WebSocket socket, string room, ChatGatewayOptions options, GatewayMetrics metrics, ILogger<ChatConnection> logger)
    {
        _socket = socket;
        _room = room;
        _options = options;
        _metrics = metrics;
        _logger = logger;
        _queueLimit = options.SendQueueLimit;
    }

    /// <summary>
    /// Reads frames and hands each to <paramref name="receiver"/> until the client closes, the socket
    /// breaks, or the connection is closed. Returns without throwing; <see cref="CloseAsync"/> finishes.
    /// </summary>
    public async Task ReceiveAsync(IFrameReceiver receiver, CancellationToken shutdown)
    {
        _onShutdown = shutdown.Register(() => Close(WebSocketCloseStatus.EndpointUnavailable, "Server shutting down.", null));

        // Reads and writes take no token: a cancellable token sends every frame down the socket's slow
        // path (a registration per call). Aborting the socket ends them just as well.
        _onClosing = _closing.Token.Register(static socket => ((WebSocket)socket!).Abort(), _socket);
        _sending = SendLoopAsync();
        _metrics.SocketOpened();
        try
        {
            await ReceiveLoopAsync(receiver);
        }
        catch (Exception exception) when (exception is WebSocketException or OperationCanceledException or ObjectDisposedException)
        {
            // The peer went away or the connection was closed: both end the session the same way.
        }
        catch (Exception exception)
        {
            LogSessionFailed(_logger, exception, _room);
            Close(WebSocketCloseStatus.InternalServerError, "Internal error.", null);
        }
    }

    /// <summary>Queues a frame; a client that has fallen <see cref="ChatGatewayOptions.SendQueueLimit"/> frames behind is closed (1008).</summary>
    public void Send(byte[] frame)
    {
        if (Interlocked.Increment(ref _queued) <= Volatile.Read(ref _queueLimit))
        {
            _outbox.Writer.TryWrite(frame);
            return;
        }

        Interlocked.Decrement(ref _queued);
        if (_closeStatus is null)
        {
            LogSendQueueFull(_logger, _room, _queueLimit);
            _metrics.SendQueueOverflowed();
            Close(WebSocketCloseStatus.PolicyViolation, "Too slow.", ErrorFrames.TooSlow);
        }
    }

    /// <summary>
    /// Raises the outbox limit by a finite burst owed to the client (a joining session's roster and
    /// history): the limit is about a reader falling behind the live room, not about joining.
    /// </summary>
    public void AllowBurst(int frames) => Interlocked.Add(ref _queueLimit, frames);

    /// <summary>
    /// Ends the connection: the error frame (if any) and everything queued before it are flushed, then
    /// the close frame is sent. The first close wins; later ones do nothing.
    /// </summary>
    public void Close(WebSocketCloseStatus status, string? description, byte[]? errorFrame)
    {
        lock (_outbox)
        {
            if (_closeStatus is not null)
            {
                return;
            }

            _closeStatus = status;
            _closeDescription = description;
            if (errorFrame is not null)
            {
                Interlocked.Increment(ref _queued);
                _outbox.Writer.TryWrite(errorFrame);
            }

            _outbox.Writer.TryComplete();
        }

        // Stop reading; and if the peer does not take the rest within the close timeout, drop it.
        _closing.CancelAfter(_options.CloseTimeout);
    }

    /// <summary>Closes normally unless already closing, and waits until the outbox is flushed or dropped. Call once.</summary>
    public async Task CloseAsync()
    {
        Close(WebSocketCloseStatus.NormalClosure, null, null);
        try
        {
            await _sending;
        }
        finally
        {
            await _onShutdown.DisposeAsync();
            await _onClosing.DisposeAsync();
            _closing.Dispose();
            _metrics.SocketClosed();
        }
    }

    /// <summary>Rejects a socket during setup the way the original does: an error frame, then 1011.</summary>
    public static async Task RejectAsync(WebSocket socket, string error, TimeSpan timeout)
    {
        using var cancellation = new CancellationTokenSource(timeout);
        try
        {
            await socket.SendAsync(ChatFrames.Error(error), WebSocketMessageType.Text, true, cancellation.Token);
            await socket.CloseAsync(WebSocketCloseStatus.InternalServerError, error, cancellation.Token);
        }
        catch (Exception exception) when (exception is WebSocketException or OperationCanceledException)
        {
            socket.Abort();
        }
    }

    private async Task ReceiveLoopAsync(IFrameReceiver receiver)
    {
        var maxFrameBytes = _options.MaxFrameBytes;
        while (!_closing.IsCancellationRequested)
        {
            // An idle socket holds no buffer: a zero-byte read waits for the next frame, and the buffer
            // is rented for that frame only (a buffer per socket was the largest part of the gateway's
            // memory per idle socket).
            var result = await _socket.ReceiveAsync(Memory<byte>.Empty, CancellationToken.None);
            if (result.MessageType == WebSocketMessageType.Close)
            {
                return;
            }

            var buffer = ArrayPool<byte>.Shared.Rent(maxFrameBytes);
            Task handling;
            try
            {
                var length = 0;
                while (!result.EndOfMessage)
                {
                    if (length == maxFrameBytes)
                    {
                        Close(WebSocketCloseStatus.MessageTooBig, "Frame too large.", ErrorFrames.FrameTooLarge);
                        return;
                    }

                    result = await _socket.ReceiveAsync(buffer.AsMemory(length, maxFrameBytes - length), CancellationToken.None);
                    if (result.MessageType == WebSocketMessageType.Close)
                    {
                        return;
                    }

                    length += result.Count;
                }

                if (result.MessageType == WebSocketMessageType.Binary)
                {
                    Close(WebSocketCloseStatus.InvalidMessageType, "Binary frames are not supported.", ErrorFrames.Binary);
                    return;
                }

                // The receiver reads the frame before its first await; the buffer goes back right after.
                handling = receiver.OnFrameAsync(buffer.AsSpan(0, length));
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }

            await handling;
        }
    }

    private async Task SendLoopAsync()
    {
        try
        {
            var reader = _outbox.Reader;
            while (await reader.WaitToReadAsync())
            {
                while (reader.TryRead(out var frame))
                {
                    Interlocked.Decrement(ref _queued);
                    await _socket.SendAsync(frame, WebSocketMessageType.Text, true, CancellationToken.None);
                }
            }

            if (_socket.State is WebSocketState.Open or WebSocketState.CloseReceived)
            {
                await _socket.CloseOutputAsync(_closeStatus ?? WebSocketCloseStatus.NormalClosure, _closeDescription, _closing.Token);
            }
        }
        catch (Exception exception) when (exception is WebSocketException or OperationCanceledException or ObjectDisposedException)
        {
            _socket.Abort();
        }
    }

    [LoggerMessage(EventId = 4101, Level = LogLevel.Information, Message = "A socket in room {Room} fell {Limit} frames behind and was closed")]
    private static partial void LogSendQueueFull(ILogger logger, string room, int limit);

    [LoggerMessage(EventId = 4102, Level = LogLevel.Error, Message = "The connection of a session in room {Room} failed")]
    private static partial void LogSessionFailed(ILogger logger, Exception exception, string room);
}
