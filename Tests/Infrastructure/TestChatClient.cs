using System.Net.Sockets;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using System.Threading.Channels;

namespace Chat.Orleans.Tests.Infrastructure;

/// <summary>A protocol client over a real WebSocket, recording every frame it receives.</summary>
public sealed class TestChatClient : IAsyncDisposable
{
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(15);

    private readonly ClientWebSocket _socket;
    private readonly Channel<JsonElement> _frames = Channel.CreateUnbounded<JsonElement>();
    private readonly TaskCompletionSource<WebSocketCloseStatus?> _closed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Task? _receiving;

    private TestChatClient(ClientWebSocket socket) => _socket = socket;

    /// <summary>Every frame received so far, in order.</summary>
    public List<JsonElement> Received { get; } = [];

    /// <summary>Completes with the close status when the server closes the socket (null: closed without a status).</summary>
    public Task<WebSocketCloseStatus?> Closed => _closed.Task;

    public string? CloseDescription => _socket.CloseStatusDescription;

    /// <param name="receiveBufferBytes">A small kernel receive buffer makes a client that does not read fill up quickly.</param>
    /// <param name="startReceiving">False for a client that does not read until told to.</param>
    public static async Task<TestChatClient> ConnectAsync(
        Uri uri,
        string? forwardedFor = null,
        int? receiveBufferBytes = null,
        bool startReceiving = true,
        IDictionary<string, string>? headers = null)
    {
        var socket = new ClientWebSocket();
        socket.Options.KeepAliveInterval = TimeSpan.Zero;
        if (forwardedFor is not null)
        {
            socket.Options.SetRequestHeader("X-Forwarded-For", forwardedFor);
        }

        foreach (var (name, value) in headers ?? new Dictionary<string, string>())
        {
            socket.Options.SetRequestHeader(name, value);
        }

        using var handler = new SocketsHttpHandler
        {
            ConnectCallback = async (context, cancellationToken) =>
            {
                var tcp = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
                if (receiveBufferBytes is { } size)
                {
                    tcp.ReceiveBufferSize = size;
                }

                await tcp.ConnectAsync(context.DnsEndPoint, cancellationToken);
                return new NetworkStream(tcp, ownsSocket: true);
            },
        };
        using var timeout = new CancellationTokenSource(DefaultTimeout);
        await socket.ConnectAsync(uri, new HttpMessageInvoker(handler, disposeHandler: false), timeout.Token);
        var client = new TestChatClient(socket);
        if (startReceiving)
        {
            client.StartReceiving();
        }

        return client;
    }

    public void StartReceiving() => _receiving ??= ReceiveLoopAsync();

    public Task SendAsync(object frame) => SendTextAsync(JsonSerializer.Serialize(frame));

    public Task SendTextAsync(string text) => SendRawAsync(Encoding.UTF8.GetBytes(text), WebSocketMessageType.Text);

    public async Task SendRawAsync(byte[] payload, WebSocketMessageType type)
    {
        using var timeout = new CancellationTokenSource(DefaultTimeout);
        await _socket.SendAsync(payload, type, true, timeout.Token);
    }

    /// <summary>The next frame, or an exception if none comes in time (or the socket closed).</summary>
    public async Task<JsonElement> NextAsync(TimeSpan? timeout = null)
    {
        using var cancellation = new CancellationTokenSource(timeout ?? DefaultTimeout);
        try
        {
            return await _frames.Reader.ReadAsync(cancellation.Token);
        }
        catch (ChannelClosedException)
        {
            throw new InvalidOperationException($"The socket closed ({_socket.CloseStatus}) while a frame was expected.");
        }
    }

    /// <summary>Reads frames until one matches; returns the frames read before it and the match.</summary>
    public async Task<(List<JsonElement> Before, JsonElement Match)> ExpectAsync(Func<JsonElement, bool> predicate, TimeSpan? timeout = null)
    {
        var before = new List<JsonElement>();
        using var cancellation = new CancellationTokenSource(timeout ?? DefaultTimeout);
        while (true)
        {
            JsonElement frame;
            try
            {
                frame = await _frames.Reader.ReadAsync(cancellation.Token);
            }
            catch (OperationCanceledException)
            {
                throw new TimeoutException("Expected frame did not arrive; got: " + string.Join(", ", before.Select(f => f.GetRawText())));
            }
            catch (ChannelClosedException)
            {
                throw new InvalidOperationException($"Socket closed ({_socket.CloseStatus}) before the expected frame; got: " + string.Join(", ", before.Select(f => f.GetRawText())));
            }

            if (predicate(frame))
            {
                return (before, frame);
            }

            before.Add(frame);
        }
    }

    /// <summary>Sends the name and reads up to <c>ready</c>; returns everything before it.</summary>
    public Task<List<JsonElement>> JoinAsync(string name) => JoinAsync(new { name });

    /// <summary>Sends a name frame (with a token, caps, since, ...) and reads up to <c>ready</c>; returns everything before it.</summary>
    public async Task<List<JsonElement>> JoinAsync(object nameFrame)
    {
        await SendAsync(nameFrame);
        var (before, _) = await ExpectAsync(IsReady);
        JoinFrames = before;
        return before;
    }

    /// <summary>The frames of the join, before <c>ready</c>.</summary>
    public List<JsonElement> JoinFrames { get; private set; } = [];

    public Task<(List<JsonElement> Before, JsonElement Match)> ExpectMessageAsync(string text, TimeSpan? timeout = null) =>
        ExpectAsync(f => f.TryGetProperty("message", out var m) && m.GetString() == text && f.TryGetProperty("timestamp", out _), timeout);

    public Task<(List<JsonElement> Before, JsonElement Match)> ExpectErrorAsync() =>
        ExpectAsync(f => f.TryGetProperty("error", out _));

    public async Task<WebSocketCloseStatus?> WaitClosedAsync(TimeSpan? timeout = null) =>
        await Closed.WaitAsync(timeout ?? DefaultTimeout);

    public static bool IsReady(JsonElement frame) => frame.TryGetProperty("ready", out _);

    public static string? Str(JsonElement frame, string property) =>
        frame.TryGetProperty(property, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (_socket.State == WebSocketState.Open)
            {
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
                await _socket.CloseAsync(WebSocketCloseStatus.NormalClosure, null, timeout.Token);
            }
        }
        catch (Exception exception) when (exception is WebSocketException or OperationCanceledException)
        {
        }

        _socket.Dispose();
        if (_receiving is not null)
        {
            await _receiving;
        }
    }

    private async Task ReceiveLoopAsync()
    {
        var buffer = new byte[64 * 1024];
        try
        {
            while (true)
            {
                var length = 0;
                WebSocketReceiveResult result;
                do
                {
                    if (length == buffer.Length)
                    {
                        Array.Resize(ref buffer, buffer.Length * 2);
                    }

                    result = await _socket.ReceiveAsync(buffer.AsMemory(length).ToArraySegment(), CancellationToken.None);
                    length += result.Count;
                }
                while (!result.EndOfMessage && result.MessageType != WebSocketMessageType.Close);

                if (result.MessageType == WebSocketMessageType.Close)
                {
                    _closed.TrySetResult(result.CloseStatus);
                    break;
                }

                using var document = JsonDocument.Parse(buffer.AsMemory(0, length));
                var frame = document.RootElement.Clone();
                Received.Add(frame);
                _frames.Writer.TryWrite(frame);
            }
        }
        catch (Exception exception) when (exception is WebSocketException or ObjectDisposedException or OperationCanceledException)
        {
            _closed.TrySetResult(null);
        }
        finally
        {
            _frames.Writer.TryComplete();
        }
    }
}

internal static class MemoryExtensions
{
    public static ArraySegment<byte> ToArraySegment(this Memory<byte> memory) =>
        System.Runtime.InteropServices.MemoryMarshal.TryGetArray<byte>(memory, out var segment) ? segment : throw new InvalidOperationException();
}
