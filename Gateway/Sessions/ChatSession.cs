using System.Buffers;
using System.Net;
using System.Net.WebSockets;
using System.Text.Json;
using System.Threading.Channels;
using Chat.Orleans.Gateway.Rooms;

namespace Chat.Orleans.Gateway.Sessions;

/// <summary>
/// One browser socket in one room. The receive loop reads frames, the send loop drains a bounded queue
/// to the socket; room events reach the queue from the room's subscription. Until the session has its
/// roster and history, room events wait in a buffer so that the protocol's order holds.
/// </summary>
public sealed partial class ChatSession
{
    private static readonly byte[] NotAnObjectFrame = ChatFrames.Error("Frames must be JSON objects.");
    private static readonly byte[] NameNotStringFrame = ChatFrames.Error("Name must be a string.");
    private static readonly byte[] NameTooLongFrame = ChatFrames.Error("Name too long.");
    private static readonly byte[] MessageNotStringFrame = ChatFrames.Error("Message must be a string.");
    private static readonly byte[] MessageTooLongFrame = ChatFrames.Error("Message too long.");
    private static readonly byte[] RateLimitedFrame = ChatFrames.Error("Your IP is being rate-limited, please try again later.");
    private static readonly byte[] NotStoredFrame = ChatFrames.Error("Your message could not be stored, so it was not sent. Please try again.");
    private static readonly byte[] BinaryFrame = ChatFrames.Error("Binary frames are not supported.");
    private static readonly byte[] FrameTooLargeFrame = ChatFrames.Error("Frame too large.");
    private static readonly byte[] NameTimeoutFrame = ChatFrames.Error("No name was sent in time.");
    private static readonly byte[] TooSlowFrame = ChatFrames.Error("Too many frames waiting: the connection is too slow.");
    private static readonly byte[] JoinFailedFrame = ChatFrames.Error("The room is not available right now. Please try again.");

    // Not in WebSocketCloseStatus; RFC 6455 registry: "Service Restart".
    private const WebSocketCloseStatus ServiceRestart = (WebSocketCloseStatus)1012;

    private readonly WebSocket _socket;
    private readonly string _room;
    private readonly IPAddress _clientAddress;
    private readonly RoomRegistry _registry;
    private readonly IClusterClient _cluster;
    private readonly GatewayOptions _options;
    private readonly ILogger _logger;
    private readonly GatewayMetrics _metrics;
    private readonly Channel<byte[]> _outbox;
    private readonly CancellationTokenSource _closing = new();
    private readonly Lock _joinLock = new();
    private readonly long _sessionId;

    private volatile JoinStage _stage = JoinStage.AwaitingName;
    private List<(long Epoch, long Sequence, byte[] Frame)>? _buffered;
    private long _ownJoinEpoch;
    private long _ownJoinSequence;
    private RoomSubscription? _subscription;
    private string? _name;
    private long _cooldownUntil;

    // Frames in the outbox; counted by hand because the single-reader channel cannot count.
    private int _queued;
    private int _queueLimit;
    private WebSocketCloseStatus? _closeStatus;
    private string? _closeDescription;
    private IRateLimiterGrain? _rateLimiter;

    public ChatSession(
        WebSocket socket,
        string room,
        IPAddress clientAddress,
        RoomRegistry registry,
        IClusterClient cluster,
        GatewayOptions options,
        GatewayMetrics metrics,
        ILogger logger)
    {
        _metrics = metrics;
        _socket = socket;
        _room = room;
        _clientAddress = clientAddress;
        _registry = registry;
        _cluster = cluster;
        _options = options;
        _logger = logger;
        _sessionId = registry.NewSessionId();
        _outbox = Channel.CreateUnbounded<byte[]>(new UnboundedChannelOptions { SingleReader = true });
        _queueLimit = options.SendQueueLimit;
    }

    private enum JoinStage
    {
        AwaitingName,

        // Room events are buffered until the snapshot (roster and history) has been sent.
        Joining,

        // Snapshot sent; events flow, and `ready` follows this session's own `joined` event.
        AwaitingOwnJoined,
        Live,
    }

    /// <summary>Runs the session to its end; returns when the socket is closed.</summary>
    public async Task RunAsync(CancellationToken shutdown)
    {
        using var shutdownRegistration = shutdown.Register(() => Close(WebSocketCloseStatus.EndpointUnavailable, "Server shutting down.", null));

        // Reads and writes take no token: a cancellable token sends every frame down the socket's slow
        // path (a registration per call). Aborting the socket ends them just as well.
        using var abortRegistration = _closing.Token.Register(static socket => ((WebSocket)socket!).Abort(), _socket);
        var sending = SendLoopAsync();
        _metrics.SocketOpened();
        try
        {
            await ReceiveLoopAsync();
        }
        catch (Exception exception) when (exception is WebSocketException or OperationCanceledException or ObjectDisposedException)
        {
            // The peer went away or the session was closed: both end the session the same way.
        }
        catch (Exception exception)
        {
            LogSessionFailed(_logger, exception, _room);
            Close(WebSocketCloseStatus.InternalServerError, "Internal error.", null);
        }
        finally
        {
            await LeaveRoomAsync();
            Close(WebSocketCloseStatus.NormalClosure, null, null);
            await sending;
            _closing.Dispose();
            _metrics.SocketClosed();
        }
    }

    /// <summary>Called by the subscription for every batch of room events, in order.</summary>
    public void Deliver(RoomEvents events)
    {
        if (_stage == JoinStage.Live)
        {
            foreach (var frame in events.Frames)
            {
                Send(frame);
            }

            return;
        }

        lock (_joinLock)
        {
            for (var i = 0; i < events.Frames.Length; i++)
            {
                DeliverWhileJoining(events.Epoch, events.FirstSequence + i, events.Frames[i]);
            }
        }
    }

    /// <summary>
    /// The room moved or lost events for this gateway: the client reconnects and fetches the history,
    /// which has every stored message. 1012 (service restart) says "come back", with no error to show.
    /// </summary>
    public void CloseForResync() => Close(ServiceRestart, "Room moved; reconnect.", null);

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

    private async Task ReceiveLoopAsync()
    {
        // The name timer lives until the name is in, not for the socket's life.
        CancellationTokenSource? nameTimeout = new(_options.NameTimeout);
        nameTimeout.Token.Register(() =>
        {
            if (_stage == JoinStage.AwaitingName)
            {
                Close(WebSocketCloseStatus.PolicyViolation, "No name sent in time.", NameTimeoutFrame);
            }
        });

        try
        {
            while (!_closing.IsCancellationRequested)
            {
                if (nameTimeout is not null && _stage != JoinStage.AwaitingName)
                {
                    nameTimeout.Dispose();
                    nameTimeout = null;
                }

                // An idle socket holds no buffer: a zero-byte read waits for the next frame, and the
                // buffer is rented for that frame only (a buffer per socket was the largest part of the
                // gateway's memory per idle socket).
                var result = await _socket.ReceiveAsync(Memory<byte>.Empty, CancellationToken.None);
                if (result.MessageType == WebSocketMessageType.Close)
                {
                    return;
                }

                var buffer = ArrayPool<byte>.Shared.Rent(_options.MaxFrameBytes);
                Task handling;
                try
                {
                    var length = 0;
                    while (!result.EndOfMessage)
                    {
                        if (length == _options.MaxFrameBytes)
                        {
                            Close(WebSocketCloseStatus.MessageTooBig, "Frame too large.", FrameTooLargeFrame);
                            return;
                        }

                        result = await _socket.ReceiveAsync(buffer.AsMemory(length, _options.MaxFrameBytes - length), CancellationToken.None);
                        if (result.MessageType == WebSocketMessageType.Close)
                        {
                            return;
                        }

                        length += result.Count;
                    }

                    if (result.MessageType == WebSocketMessageType.Binary)
                    {
                        Close(WebSocketCloseStatus.InvalidMessageType, "Binary frames are not supported.", BinaryFrame);
                        return;
                    }

                    // Parsing is synchronous; what follows (the grain call) no longer needs the buffer.
                    handling = _stage == JoinStage.AwaitingName
                        ? ReceiveNameAsync(buffer.AsSpan(0, length))
                        : ReceiveMessageAsync(buffer.AsSpan(0, length));
                }
                finally
                {
                    ArrayPool<byte>.Shared.Return(buffer);
                }

                await handling;
            }
        }
        finally
        {
            nameTimeout?.Dispose();
        }
    }

    private Task ReceiveNameAsync(ReadOnlySpan<byte> frame)
    {
        if (!TryReadField(frame, "name"u8, out var name, out var notString))
        {
            Send(NotAnObjectFrame);
            return Task.CompletedTask;
        }

        if (notString)
        {
            Send(NameNotStringFrame);
            return Task.CompletedTask;
        }

        if (string.IsNullOrEmpty(name))
        {
            name = "anonymous";
        }

        if (name.Length > _options.MaxNameLength)
        {
            Close(WebSocketCloseStatus.MessageTooBig, "Name too long.", NameTooLongFrame);
            return Task.CompletedTask;
        }

        return JoinAsync(name);
    }

    private async Task JoinAsync(string name)
    {
        _name = name;
        _stage = JoinStage.Joining;
        _buffered = [];
        _subscription = _registry.Acquire(_room);

        // The limiter's verdict for this IP is fetched alongside the join, so a client that hops to a
        // new socket or room does not start with a clean slate.
        var cooldown = _options.RateLimitEnabled ? FetchCooldownAsync() : Task.CompletedTask;
        RoomSnapshot snapshot;
        var member = new RoomMember(_sessionId, name);
        try
        {
            snapshot = await _registry.JoinAsync(_subscription, this, member);
        }
        catch (Exception first) when (first is not TimeoutException)
        {
            // Most often the room's activation failed (a stale database connection after a restart
            // fails once), so the join never happened and one retry is safe. A timed-out join may
            // have happened and is not retried.
            LogJoinRetried(_logger, first, _room);
            try
            {
                snapshot = await _registry.JoinAsync(_subscription, this, member);
            }
            catch (Exception exception)
            {
                LogJoinFailed(_logger, exception, _room);
                Close(WebSocketCloseStatus.InternalServerError, "Join failed.", JoinFailedFrame);
                return;
            }
        }
        catch (Exception exception)
        {
            LogJoinFailed(_logger, exception, _room);
            Close(WebSocketCloseStatus.InternalServerError, "Join failed.", JoinFailedFrame);
            return;
        }

        _subscription.ObserveEpoch(snapshot.Epoch, except: this);
        lock (_joinLock)
        {
            // The roster and history are a finite burst owed to this session: the limit grows by
            // their size, because it is about a reader falling behind the live room, not about joining.
            _queueLimit += snapshot.Roster.Length + snapshot.History.Length;
            foreach (var frame in snapshot.Roster)
            {
                Send(frame);
            }

            foreach (var frame in snapshot.History)
            {
                Send(frame);
            }

            var buffered = _buffered;
            _buffered = null;
            _ownJoinEpoch = snapshot.Epoch;
            _ownJoinSequence = snapshot.Sequence + 1;
            _stage = JoinStage.AwaitingOwnJoined;
            foreach (var (epoch, sequence, frame) in buffered)
            {
                // Events up to the snapshot are already in the roster and history.
                if (epoch != snapshot.Epoch || sequence > snapshot.Sequence)
                {
                    DeliverWhileJoining(epoch, sequence, frame);
                }
            }
        }

        await cooldown;
    }

    private void DeliverWhileJoining(long epoch, long sequence, byte[] frame)
    {
        switch (_stage)
        {
            case JoinStage.Joining:
                _buffered!.Add((epoch, sequence, frame));
                break;
            case JoinStage.AwaitingOwnJoined:
                Send(frame);
                if (epoch == _ownJoinEpoch && sequence == _ownJoinSequence)
                {
                    Send(ChatFrames.Ready);
                    _stage = JoinStage.Live;
                }

                break;
            case JoinStage.Live:
                Send(frame);
                break;
        }
    }

    private Task ReceiveMessageAsync(ReadOnlySpan<byte> frame)
    {
        if (!TryReadField(frame, "message"u8, out var message, out var notString))
        {
            Send(NotAnObjectFrame);
        }
        else if (notString || message is null)
        {
            Send(MessageNotStringFrame);
        }
        else if (message.Length > _options.MaxMessageLength)
        {
            Send(MessageTooLongFrame);
        }
        else if (!TryPassRateLimit())
        {
            _metrics.RateLimited();
            Send(RateLimitedFrame);
        }
        else
        {
            return PostAsync(message);
        }

        return Task.CompletedTask;
    }

    private async Task PostAsync(string message)
    {
        try
        {
            await _subscription!.Grain.Post(_name!, message);
        }
        catch (Exception exception)
        {
            LogPostFailed(_logger, exception, _room);
            Send(NotStoredFrame);
        }
    }

    /// <summary>
    /// Reads one top-level string property of a JSON object. False when the frame is not a JSON object;
    /// a missing property gives null.
    /// </summary>
    private static bool TryReadField(ReadOnlySpan<byte> frame, ReadOnlySpan<byte> property, out string? value, out bool notString)
    {
        value = null;
        notString = false;
        try
        {
            var reader = new Utf8JsonReader(frame);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return false;
            }

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var matches = reader.ValueTextEquals(property);
                reader.Read();
                if (matches)
                {
                    notString = reader.TokenType != JsonTokenType.String && reader.TokenType != JsonTokenType.Null;
                    value = reader.TokenType == JsonTokenType.String ? reader.GetString() : null;
                }

                reader.Skip();
            }

            // Reading to the end rejects truncated objects and trailing garbage.
            while (reader.Read())
            {
            }

            return true;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    private bool TryPassRateLimit()
    {
        if (!_options.RateLimitEnabled)
        {
            return true;
        }

        // Optimistic, as in the original: the session's own cooldown answers at once, and the shared
        // per-IP limiter is told in the background, so it is never on the message's path.
        if (Environment.TickCount64 < Volatile.Read(ref _cooldownUntil))
        {
            return false;
        }

        _ = SpendAsync();
        return true;
    }

    private IRateLimiterGrain RateLimiter => _rateLimiter ??= _cluster.GetGrain<IRateLimiterGrain>(_clientAddress.ToString());

    private async Task SpendAsync()
    {
        try
        {
            ExtendCooldown(await RateLimiter.Spend());
        }
        catch (Exception exception)
        {
            LogRateLimiterFailed(_logger, exception);
        }
    }

    private async Task FetchCooldownAsync()
    {
        try
        {
            ExtendCooldown(await RateLimiter.GetCooldown());
        }
        catch (Exception exception)
        {
            LogRateLimiterFailed(_logger, exception);
        }
    }

    private void ExtendCooldown(TimeSpan cooldown)
    {
        var until = Environment.TickCount64 + (long)cooldown.TotalMilliseconds;
        var current = Volatile.Read(ref _cooldownUntil);
        while (until > current)
        {
            var seen = Interlocked.CompareExchange(ref _cooldownUntil, until, current);
            if (seen == current)
            {
                break;
            }

            current = seen;
        }
    }

    private void Send(byte[] frame)
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
            Close(WebSocketCloseStatus.PolicyViolation, "Too slow.", TooSlowFrame);
        }
    }

    /// <summary>
    /// Ends the session: the error frame (if any) and everything queued before it are flushed, then the
    /// close frame is sent. The first close wins.
    /// </summary>
    private void Close(WebSocketCloseStatus status, string? description, byte[]? errorFrame)
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

    private async Task LeaveRoomAsync()
    {
        if (_subscription is not { } subscription)
        {
            return;
        }

        _subscription = null;
        try
        {
            await subscription.LeaveAsync(this, _sessionId);
        }
        catch (Exception exception)
        {
            // The room drops the member anyway at the next renewal, which no longer lists it.
            LogLeaveFailed(_logger, exception, _room);
        }
        finally
        {
            _registry.Release(subscription);
        }
    }

    [LoggerMessage(EventId = 4001, Level = LogLevel.Warning, Message = "Joining room {Room} failed")]
    private static partial void LogJoinFailed(ILogger logger, Exception exception, string room);

    [LoggerMessage(EventId = 4007, Level = LogLevel.Information, Message = "Joining room {Room} failed once; retrying")]
    private static partial void LogJoinRetried(ILogger logger, Exception exception, string room);

    [LoggerMessage(EventId = 4002, Level = LogLevel.Warning, Message = "Posting to room {Room} failed")]
    private static partial void LogPostFailed(ILogger logger, Exception exception, string room);

    [LoggerMessage(EventId = 4003, Level = LogLevel.Warning, Message = "Leaving room {Room} failed")]
    private static partial void LogLeaveFailed(ILogger logger, Exception exception, string room);

    [LoggerMessage(EventId = 4004, Level = LogLevel.Information, Message = "A socket in room {Room} fell {Limit} frames behind and was closed")]
    private static partial void LogSendQueueFull(ILogger logger, string room, int limit);

    [LoggerMessage(EventId = 4005, Level = LogLevel.Warning, Message = "The rate limiter could not be reached")]
    private static partial void LogRateLimiterFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 4006, Level = LogLevel.Error, Message = "Session in room {Room} failed")]
    private static partial void LogSessionFailed(ILogger logger, Exception exception, string room);
}
