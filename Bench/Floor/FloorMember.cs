using System.Buffers;
using System.Net.WebSockets;
using System.Text.Json;
using System.Threading.Channels;

namespace Chat.Orleans.Bench.Floor;

/// <summary>One socket of the floor: a receive loop, and a bounded queue drained by one send loop.</summary>
public sealed class FloorMember(WebSocket socket, FloorRoom room)
{
    private const int MaxFrameBytes = 4096;

    private readonly Channel<byte[]> _outbox = Channel.CreateBounded<byte[]>(new BoundedChannelOptions(1024) { SingleReader = true });

    public byte[]? JoinedFrame { get; private set; }

    public void Send(byte[] frame)
    {
        if (!_outbox.Writer.TryWrite(frame))
        {
            // Too slow a reader: drop it rather than slow the room.
            _outbox.Writer.TryComplete();
        }
    }

    public async Task RunAsync()
    {
        var sending = SendLoopAsync();
        var buffer = ArrayPool<byte>.Shared.Rent(MaxFrameBytes);
        string? name = null;
        try
        {
            while (true)
            {
                var result = await socket.ReceiveAsync(buffer.AsMemory(), CancellationToken.None);
                if (result.MessageType == WebSocketMessageType.Close || !result.EndOfMessage)
                {
                    break;
                }

                var text = ReadField(buffer.AsSpan(0, result.Count), name is null ? "name"u8 : "message"u8);
                if (name is null)
                {
                    name = string.IsNullOrEmpty(text) ? "anonymous" : text;
                    JoinedFrame = ChatFrames.Joined(name);
                    room.Join(this, JoinedFrame);
                    Send(ChatFrames.Ready);
                }
                else if (text is not null)
                {
                    room.Post(name, text);
                }
            }
        }
        catch (Exception exception) when (exception is WebSocketException or JsonException)
        {
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
            if (name is not null)
            {
                room.Leave(this, ChatFrames.Quit(name));
            }

            _outbox.Writer.TryComplete();
            await sending;
        }
    }

    private static string? ReadField(ReadOnlySpan<byte> frame, ReadOnlySpan<byte> property)
    {
        var reader = new Utf8JsonReader(frame);
        reader.Read();
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var matches = reader.ValueTextEquals(property);
            reader.Read();
            if (matches && reader.TokenType == JsonTokenType.String)
            {
                return reader.GetString();
            }

            reader.Skip();
        }

        return null;
    }

    private async Task SendLoopAsync()
    {
        try
        {
            await foreach (var frame in _outbox.Reader.ReadAllAsync())
            {
                await socket.SendAsync(frame, WebSocketMessageType.Text, true, CancellationToken.None);
            }

            await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, CancellationToken.None);
        }
        catch (WebSocketException)
        {
            socket.Abort();
        }
    }
}
