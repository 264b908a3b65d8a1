using System.Buffers.Text;
using System.Diagnostics;
using System.Net.WebSockets;
using System.Text;

namespace Chat.Orleans.Bench.Load;

/// <summary>
/// One chat socket. Its buffers are allocated once; sending formats into a fixed array, and receiving
/// parses the frame in place, so the steady state allocates nothing per message.
/// </summary>
public sealed class LoadClient
{
    private static readonly byte[] MessagePrefix = "{\"message\":\""u8.ToArray();
    private static readonly byte[] MessageField = "\"message\":\""u8.ToArray();
    private static readonly byte[] TimestampField = "\"timestamp\":"u8.ToArray();

    private const int HistoryPhase = 999_999;

    private readonly LoadWorker _worker;
    private readonly LoadRoom _room;
    private readonly int _member;
    private readonly byte[] _receiveBuffer = new byte[1024];
    private readonly byte[] _sendBuffer = new byte[128];
    private long _lastTimestamp;
    private int _richSends;
    private readonly int[] _lastSequence;
    private readonly ClientWebSocket _socket = new();
    private TaskCompletionSource? _ready;
    private ValueTask _pendingSend;
    private long _nextSequence;
    private volatile bool _isReady;
    private int _closed;

    public LoadClient(LoadWorker worker, LoadRoom room, int member)
    {
        _worker = worker;
        _room = room;
        _member = member;
        _lastSequence = new int[room.Members.Length];
        Array.Fill(_lastSequence, -1);
        _socket.Options.CollectHttpResponseDetails = true;
        _socket.Options.KeepAliveInterval = Timeout.InfiniteTimeSpan;
        _socket.Options.SetBuffer(1024, 1024);
    }

    public bool IsReady => _isReady;

    public bool IsClosed => Volatile.Read(ref _closed) == 1;

    /// <summary>Message frames that arrived before `ready` (the history).</summary>
    public int HistoryReceived { get; private set; }

    /// <summary>Messages of this client that came back to it.</summary>
    public int OwnEchoes;

    public LoadRoom Room => _room;

    /// <summary>Connects, sends the name and waits for `ready`; returns the join time (name to ready) in µs.</summary>
    public async Task<long> JoinAsync(Uri uri, HttpMessageInvoker invoker, CancellationToken cancellation)
    {
        try
        {
            await _socket.ConnectAsync(uri, invoker, cancellation);
        }
        catch (WebSocketException) when (_socket.HttpStatusCode == System.Net.HttpStatusCode.ServiceUnavailable)
        {
            throw new ConnectionRefusedException();
        }

        _ready = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _ = ReceiveLoopAsync();
        var started = Stopwatch.GetTimestamp();
        await _socket.SendAsync(_worker.NameFrame(_room, _member), WebSocketMessageType.Text, true, cancellation);
        await _ready.Task.WaitAsync(cancellation);
        return MicrosecondsSince(started);
    }

    /// <summary>Starts sending one message unless the previous one is still being written (then false).</summary>
    public bool TrySend(int phase)
    {
        if (!_pendingSend.IsCompleted || IsClosed || !_isReady)
        {
            return false;
        }

        if (_worker.TakeRichTurn())
        {
            return TrySendRich();
        }

        var span = _sendBuffer.AsSpan();
        MessagePrefix.CopyTo(span);
        var length = MessagePrefix.Length;
        length += Write(span[length..], phase, '.');
        length += Write(span[length..], _member, '.');
        length += Write(span[length..], _nextSequence++, '.');
        length += Write(span[length..], Stopwatch.GetTimestamp(), '"');
        span[length++] = (byte)'}';
        Interlocked.Increment(ref _room.Sent);
        _pendingSend = _socket.SendAsync(_sendBuffer.AsMemory(0, length), WebSocketMessageType.Text, true, CancellationToken.None);
        if (!_pendingSend.IsCompleted)
        {
            // Keep the ValueTask's source alive and observe a failure; allocation only when the socket pushes back.
            _pendingSend = new ValueTask(_pendingSend.AsTask().ContinueWith(static _ => { }, TaskContinuationOptions.ExecuteSynchronously));
        }

        return true;
    }

    /// <summary>
    /// A typing hint or, once a message was seen, a reaction to the newest one (toggled, so it comes and
    /// goes): a frame whose answer is a rich frame to every member, not a delivery the report counts.
    /// </summary>
    private bool TrySendRich()
    {
        var react = (_richSends++ & 1) == 1 && _lastTimestamp > 0;
        var length = react
            ? Encoding.UTF8.GetBytes($$"""{"react":{{_lastTimestamp}},"emoji":"👍"}""", _sendBuffer)
            : Encoding.UTF8.GetBytes("""{"typing":true}""", _sendBuffer);
        _pendingSend = _socket.SendAsync(_sendBuffer.AsMemory(0, length), WebSocketMessageType.Text, true, CancellationToken.None);
        if (!_pendingSend.IsCompleted)
        {
            _pendingSend = new ValueTask(_pendingSend.AsTask().ContinueWith(static _ => { }, TaskContinuationOptions.ExecuteSynchronously));
        }

        return true;
    }

    /// <summary>Sends one history message (of a phase no report counts) and waits for it to be written.</summary>
    public async Task SendHistoryAsync()
    {
        var frame = System.Text.Encoding.UTF8.GetBytes($$"""{"message":"{{HistoryPhase}}.{{_member}}.{{_nextSequence++}}.{{Stopwatch.GetTimestamp()}}"}""");
        await _socket.SendAsync(frame, WebSocketMessageType.Text, true, CancellationToken.None);
    }

    /// <summary>Ends the client (teardown, or a join that failed).</summary>
    public void Abort()
    {
        MarkClosed();
        _socket.Abort();
    }

    /// <summary>True for the first close only; a member that was live leaves the room's count.</summary>
    private bool MarkClosed()
    {
        if (Interlocked.Exchange(ref _closed, 1) == 1)
        {
            return false;
        }

        if (_isReady)
        {
            Interlocked.Decrement(ref _room.Live);
        }

        return true;
    }

    private static int Write(Span<byte> destination, long value, char terminator)
    {
        Utf8Formatter.TryFormat(value, destination, out var written);
        destination[written] = (byte)terminator;
        return written + 1;
    }

    private static long MicrosecondsSince(long timestamp) =>
        (Stopwatch.GetTimestamp() - timestamp) * 1_000_000 / Stopwatch.Frequency;

    private async Task ReceiveLoopAsync()
    {
        try
        {
            while (true)
            {
                var result = await _socket.ReceiveAsync(_receiveBuffer.AsMemory(), CancellationToken.None);
                if (result.MessageType == WebSocketMessageType.Close)
                {
                    break;
                }

                if (!result.EndOfMessage)
                {
                    // Larger than any frame of the scenarios: skip the rest of it.
                    while (!(await _socket.ReceiveAsync(_receiveBuffer.AsMemory(), CancellationToken.None)).EndOfMessage)
                    {
                    }

                    continue;
                }

                OnFrame(_receiveBuffer.AsSpan(0, result.Count));
            }
        }
        catch (Exception exception) when (exception is WebSocketException or OperationCanceledException or ObjectDisposedException)
        {
            // Closed or aborted.
        }

        if (MarkClosed())
        {
            _worker.OnClosed(this);
        }

        _ready?.TrySetException(new WebSocketException("closed before ready"));
    }

    private void OnFrame(ReadOnlySpan<byte> frame)
    {
        if (frame.StartsWith("{\"name\""u8))
        {
            OnMessage(frame);
        }
        else if (frame.StartsWith("{\"ready\""u8))
        {
            _isReady = true;
            Interlocked.Increment(ref _room.Live);
            _ready!.TrySetResult();
        }
        else if (frame.StartsWith("{\"error\""u8))
        {
            Interlocked.Increment(ref _room.Rejected);
            _worker.OnError(frame);
        }
    }

    private void OnMessage(ReadOnlySpan<byte> frame)
    {
        if (!_isReady)
        {
            HistoryReceived++;
            return;
        }

        var at = frame.IndexOf(MessageField);
        if (at < 0)
        {
            return;
        }

        var stamp = _worker.Rich ? frame.IndexOf(TimestampField) : -1;
        if (stamp >= 0 && Utf8Parser.TryParse(frame[(stamp + TimestampField.Length)..], out long timestamp, out _))
        {
            // The newest message, for rich plans' reactions.
            _lastTimestamp = timestamp;
        }

        var text = frame[(at + MessageField.Length)..];
        if (!Read(ref text, out var phase) || !Read(ref text, out var member) || !Read(ref text, out var sequence) || !Read(ref text, out var sentAt)
            || member < 0 || member >= _lastSequence.Length)
        {
            // Not a benchmark message (seeded history).
            return;
        }

        if (member == _member)
        {
            OwnEchoes++;
        }

        var last = _lastSequence[member];
        if (sequence <= last)
        {
            _worker.OnMisordered(duplicate: sequence == last);
            return;
        }

        _lastSequence[member] = (int)sequence;
        var receivedAt = Stopwatch.GetTimestamp();
        _worker.OnDelivered(_room, (int)phase, receivedAt, (receivedAt - sentAt) * 1_000_000 / Stopwatch.Frequency);
    }

    private static bool Read(ref ReadOnlySpan<byte> text, out long value)
    {
        if (!Utf8Parser.TryParse(text, out value, out var consumed) || consumed >= text.Length)
        {
            return false;
        }

        text = text[(consumed + 1)..];
        return true;
    }
}

public sealed class ConnectionRefusedException : Exception;
