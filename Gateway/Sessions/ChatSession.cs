using System.Net.WebSockets;
using Chat.Orleans.Gateway.Connections;
using Chat.Orleans.Gateway.Protocol;
using Chat.Orleans.Gateway.Rooms;

namespace Chat.Orleans.Gateway.Sessions;

/// <summary>
/// One client in one room, as the protocol sees it: the first frame names the member and joins the
/// room, every later frame is a message. The connection owns the socket; the membership owns the
/// room; <see cref="RoomFeed"/> puts the room's frames in the protocol's order.
/// </summary>
public sealed partial class ChatSession(
    ChatConnection connection,
    string room,
    RoomRegistry rooms,
    SessionRateLimit? rateLimit,
    ChatGatewayOptions options,
    GatewayMetrics metrics,
    ILogger<ChatSession> logger) : IFrameReceiver, IRoomListener
{
    private readonly RoomFeed _feed = new(connection);
    private CancellationTokenSource? _nameTimeout;
    private volatile bool _named;
    private RoomMembership? _membership;

    // Keys for the posts of a client that sends no ids: a random prefix, then a count.
    private string? _keyPrefix;
    private long _posts;

    /// <summary>Runs the session to its end; returns when the socket is closed.</summary>
    public async Task RunAsync(CancellationToken shutdown)
    {
        // No lurking, and no socket held forever without a name.
        _nameTimeout = new CancellationTokenSource(options.NameTimeout);
        _nameTimeout.Token.Register(() =>
        {
            if (!_named)
            {
                connection.Close(WebSocketCloseStatus.PolicyViolation, "No name sent in time.", ErrorFrames.NameTimeout);
            }
        });

        try
        {
            await connection.ReceiveAsync(this, shutdown);
        }
        finally
        {
            _nameTimeout?.Dispose();

            // Leave first: the others see `quit` without waiting for this client's close handshake.
            if (_membership is { } membership)
            {
                await membership.DisposeAsync();
            }

            await connection.CloseAsync();
        }
    }

    /// <summary>Each client frame: the name first, messages after.</summary>
    public Task OnFrameAsync(ReadOnlySpan<byte> frame) => _named ? ReceiveMessage(frame) : ReceiveName(frame);

    public long? LastMessageTimestamp => _feed.LastMessageTimestamp;

    public void OnEvents(RoomEvents events) => _feed.OnEvents(events);

    public void OnCatchUp(RoomCatchUp catchUp, List<byte[]> rosterChanges, bool moved) => _feed.OnCatchUp(catchUp, rosterChanges, moved);

    public void TrackRoster() => _feed.TrackRoster();

    /// <summary>
    /// The gap could not be closed in place: the client reconnects and fetches the history, which has
    /// every stored message. 1012 (service restart) says "come back", with no error to show.
    /// </summary>
    public void OnResync() => connection.Close(ChatConnection.ServiceRestart, "Room out of reach; reconnect.", null);

    private Task ReceiveName(ReadOnlySpan<byte> frame)
    {
        var error = ClientFrames.ReadName(frame, options.MaxNameLength, out var name);
        if (error == ErrorFrames.NameTooLong)
        {
            connection.Close(WebSocketCloseStatus.MessageTooBig, "Name too long.", error);
            return Task.CompletedTask;
        }

        if (error is not null)
        {
            connection.Send(error);
            return Task.CompletedTask;
        }

        if (ClientFrames.ReadSince(frame, out var since) is { } sinceError)
        {
            connection.Send(sinceError);
        }

        _named = true;
        _nameTimeout?.Dispose();
        _nameTimeout = null;
        return JoinAsync(name, since);
    }

    private async Task JoinAsync(string name, long? since)
    {
        // The limiter's verdict for this IP is fetched alongside the join.
        var cooldown = rateLimit?.FetchAsync() ?? Task.CompletedTask;
        RoomSnapshot snapshot;
        try
        {
            (_membership, snapshot) = await rooms.JoinAsync(room, name, since, this);
        }
        catch (Exception)
        {
            // Logged by the registry, which also left the room again.
            connection.Close(WebSocketCloseStatus.InternalServerError, "Join failed.", ErrorFrames.JoinFailed);
            return;
        }

        // The roster and history are a burst owed to this session, not a reader falling behind.
        connection.AllowBurst(snapshot.Roster.Length + snapshot.History.Length);
        _feed.OnSnapshot(snapshot);
        await cooldown;
    }

    private Task ReceiveMessage(ReadOnlySpan<byte> frame)
    {
        if (_membership is not { } membership)
        {
            // The join failed and the socket is closing.
            return Task.CompletedTask;
        }

        var error = ClientFrames.ReadMessage(frame, options.MaxMessageLength, out var message, out var id);
        if (error is not null)
        {
            connection.Send(error);
            return Task.CompletedTask;
        }

        if (rateLimit is not null && !rateLimit.TryPass())
        {
            metrics.RateLimited();
            connection.Send(ErrorFrames.RateLimited);
            return Task.CompletedTask;
        }

        var key = id ?? PostKeys.ForSession(_keyPrefix ??= Guid.NewGuid().ToString("N")[..16], ++_posts);
        return PostAsync(membership, message, key);
    }

    private async Task PostAsync(RoomMembership membership, string message, string key)
    {
        try
        {
            try
            {
                // Only an acknowledgement: the message reaches this client, like every member, as a room
                // event (or already has, when its key was stored before).
                await membership.PostAsync(message, key);
            }
            catch (Exception failure) when (failure is not MessageNotStoredException)
            {
                await membership.RetryPostAsync(message, key, failure);
            }
        }
        catch (Exception exception)
        {
            LogPostFailed(logger, exception, room);
            connection.Send(ErrorFrames.NotStored);
        }
    }

    [LoggerMessage(EventId = 4002, Level = LogLevel.Warning, Message = "Posting to room {Room} failed")]
    private static partial void LogPostFailed(ILogger logger, Exception exception, string room);
}
