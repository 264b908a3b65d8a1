using System.Net;
using System.Net.WebSockets;
using Chat.Orleans.Gateway.Auth;
using Chat.Orleans.Gateway.Connections;
using Chat.Orleans.Gateway.Moderation;
using Chat.Orleans.Gateway.Protocol;
using Chat.Orleans.Gateway.Rooms;

namespace Chat.Orleans.Gateway.Sessions;

/// <summary>
/// One client in one room, as the protocol sees it: the first frame names the member (and may sign in
/// with a token, and ask for capabilities) and joins the room; every later frame is a message, an edit,
/// a reaction, a typing hint, a delete, or a fresh token. The
/// connection owns the socket; the membership owns the room; <see cref="RoomFeed"/> puts the room's
/// frames in the protocol's order; <see cref="SessionPolicy"/> says who may do what.
/// </summary>
public sealed partial class ChatSession(
    ChatConnection connection,
    string room,
    IPAddress clientAddress,
    RoomRegistry rooms,
    SessionRateLimit? rateLimit,
    SessionPolicy policy,
    SessionDirectory directory,
    ChatGatewayOptions options,
    GatewayMetrics metrics,
    ILogger<ChatSession> logger) : IFrameReceiver, IRoomListener
{
    private readonly RoomFeed _feed = new(connection);
    private CancellationTokenSource? _nameTimeout;
    private volatile bool _named;
    private RoomMembership? _membership;

    // Who the session is (a verified identity, or anonymous), until its token expires.
    private readonly SessionIdentity _identity = new(() =>
        connection.Close(WebSocketCloseStatus.PolicyViolation, "Token expired.", ErrorFrames.TokenExpired));

    // When this session's next typing hint counts (Environment.TickCount64; see ChatGatewayOptions.TypingInterval).
    private long _nextTyping;

    // Keys for the posts of a client that sends no ids: a random prefix, then a count.
    private string? _keyPrefix;
    private long _posts;

    public string Room => room;

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
            directory.Remove(this);
            await _identity.DisposeAsync();

            // Leave first: the others see `quit` without waiting for this client's close handshake.
            if (_membership is { } membership)
            {
                await membership.DisposeAsync();
            }

            await connection.CloseAsync();
        }
    }

    /// <summary>Each client frame: the name first; then one kind of frame each (PROTOCOL.md).</summary>
    public Task OnFrameAsync(ReadOnlySpan<byte> frame)
    {
        if (!_named)
        {
            return ReceiveName(frame);
        }

        return ClientFrames.KindOf(frame) switch
        {
            FrameKind.Edit => ReceiveEdit(frame),
            FrameKind.React => ReceiveReact(frame),
            FrameKind.Typing => ReceiveTyping(frame),
            FrameKind.Delete => ReceiveDelete(frame),
            FrameKind.Token => ReceiveToken(frame),
            _ => ReceiveMessage(frame),
        };
    }

    /// <summary>Closes the session when a ban covers it (a ban taken after it joined); true when it did.</summary>
    public bool CloseIfBanned(BanList bans)
    {
        if (bans.FindBan(_identity.Current?.User, clientAddress, room) is null)
        {
            return false;
        }

        connection.Close(WebSocketCloseStatus.PolicyViolation, "Banned.", ErrorFrames.Banned);
        return true;
    }

    public long? LastMessageTimestamp => _feed.LastMessageTimestamp;

    public void OnEvents(RoomEvents events) => _feed.OnEvents(events);

    public void OnCatchUp(RoomCatchUp catchUp, List<byte[]> rosterChanges, bool moved) => _feed.OnCatchUp(catchUp, rosterChanges, moved);

    public void TrackRoster() => _feed.TrackRoster();

    /// <summary>
    /// The gap could not be closed in place: the client reconnects and fetches the history, which has
    /// every stored message. 1012 (service restart) says "come back", with no error to show.
    /// </summary>
    public void OnResync() => connection.Close(ChatConnection.ServiceRestart, "Room out of reach; reconnect.", null);

    public void OnRoomClosed() => connection.Close(WebSocketCloseStatus.NormalClosure, "Room closed.", ErrorFrames.RoomClosed);

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

        if (ClientFrames.ReadSignIn(frame, out var token, out var caps) is { } signInError)
        {
            connection.Close(WebSocketCloseStatus.PolicyViolation, "Invalid token.", signInError);
            return Task.CompletedTask;
        }

        if (ClientFrames.ReadSince(frame, out var since) is { } sinceError)
        {
            connection.Send(sinceError);
        }

        _named = true;
        _nameTimeout?.Dispose();
        _nameTimeout = null;
        return JoinAsync(name, since, token, caps);
    }

    private async Task JoinAsync(string name, long? since, string? token, Capabilities? caps)
    {
        var (identity, refusal) = await policy.SignInAsync(token, room);
        if (refusal is not null)
        {
            connection.Close(WebSocketCloseStatus.PolicyViolation, "Not signed in.", refusal);
            return;
        }

        // Listed before the ban check, so that a ban taken meanwhile finds it.
        _identity.SignIn(identity);
        directory.Add(this);
        if (policy.IsBanned(identity, clientAddress, room))
        {
            connection.Close(WebSocketCloseStatus.PolicyViolation, "Banned.", ErrorFrames.Banned);
            return;
        }

        var shownName = identity?.Name ?? name;
        var enabled = caps ?? Capabilities.None;
        // Its own typing frame is kept (to leave it out) only by a session that receives typing frames at all.
        var ownTyping = (enabled & Capabilities.Typing) != 0 ? ChatFrames.Typing(shownName, identity?.User) : null;
        _feed.Enable(enabled, caps is null ? null : CapsAnswers[(int)enabled], ownTyping);

        // The limiter's verdict for this IP is fetched alongside the join.
        var cooldown = rateLimit?.FetchAsync() ?? Task.CompletedTask;
        RoomSnapshot snapshot;
        try
        {
            (_membership, snapshot) = await rooms.JoinAsync(room, shownName, identity?.User, enabled, since, this);
        }
        catch (Exception)
        {
            // Logged by the registry, which also left the room again.
            connection.Close(WebSocketCloseStatus.InternalServerError, "Join failed.", ErrorFrames.JoinFailed);
            return;
        }

        // The roster and history are a burst owed to this session, not a reader falling behind.
        connection.AllowBurst(snapshot.Roster.Length + snapshot.History.Length + (snapshot.Recent?.Count ?? 0));
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

        if (!PassesPostRules())
        {
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

    /// <summary>
    /// <c>{"typing": true}</c>: one hint per <see cref="ChatGatewayOptions.TypingInterval"/> counts; the others,
    /// and those of a muted session, are dropped silently (a hint is never worth an error).
    /// </summary>
    private Task ReceiveTyping(ReadOnlySpan<byte> frame)
    {
        var now = Environment.TickCount64;
        if (_membership is { } membership
            && ClientFrames.ReadTyping(frame)
            && now >= _nextTyping
            && !policy.IsMuted(_identity.Current, clientAddress, room))
        {
            _nextTyping = now + (long)options.TypingInterval.TotalMilliseconds;
            membership.Typing();
        }

        return Task.CompletedTask;
    }

    /// <summary>
    /// <c>{"edit": timestamp, "message": text}</c>: a verified author replaces the text of their own message,
    /// under the rules of a new message (length, mute, rate limit).
    /// </summary>
    private Task ReceiveEdit(ReadOnlySpan<byte> frame)
    {
        if (ClientFrames.ReadEdit(frame, options.MaxMessageLength, out var timestamp, out var message) is { } error)
        {
            connection.Send(error);
            return Task.CompletedTask;
        }

        if (_membership is not { } membership || _identity.Current is null)
        {
            // Anonymous sessions cannot edit, not even their own messages.
            connection.Send(ErrorFrames.CannotEdit);
            return Task.CompletedTask;
        }

        return PassesPostRules() ? ChangeAsync(membership.EditAsync(timestamp, message), ErrorFrames.CannotEdit) : Task.CompletedTask;
    }

    /// <summary><c>{"react": timestamp, "emoji": emoji}</c>: toggles the person's reaction, under the mute and the rate limit.</summary>
    private Task ReceiveReact(ReadOnlySpan<byte> frame)
    {
        if (ClientFrames.ReadReact(frame, out var timestamp, out var emoji) is { } error)
        {
            connection.Send(error);
            return Task.CompletedTask;
        }

        if (_membership is not { } membership)
        {
            return Task.CompletedTask;
        }

        return PassesPostRules() ? ChangeAsync(membership.ReactAsync(timestamp, emoji), ErrorFrames.NoSuchMessage) : Task.CompletedTask;
    }

    /// <summary>What a new message must pass besides its own frame rules: no mute, and the rate limit; answers the client when not.</summary>
    private bool PassesPostRules()
    {
        if (policy.IsMuted(_identity.Current, clientAddress, room))
        {
            connection.Send(ErrorFrames.Muted);
            return false;
        }

        if (rateLimit is not null && !rateLimit.TryPass())
        {
            metrics.RateLimited();
            connection.Send(ErrorFrames.RateLimited);
            return false;
        }

        return true;
    }

    /// <summary>An edit or a reaction: the room's refusal becomes its error frame; success shows as the room's event.</summary>
    private async Task ChangeAsync(Task<ChangeResult> change, byte[] noSuchMessage)
    {
        try
        {
            var error = await change switch
            {
                ChangeResult.NoSuchMessage => noSuchMessage,
                ChangeResult.NotAllowed => ErrorFrames.CannotEdit,
                ChangeResult.TooManyEmoji => ErrorFrames.TooManyEmoji,
                _ => null,
            };
            if (error is not null)
            {
                connection.Send(error);
            }
        }
        catch (Exception exception)
        {
            LogChangeFailed(logger, exception, room);
            connection.Send(ErrorFrames.ChangeFailed);
        }
    }

    /// <summary>The <c>caps</c> answer for each set of capabilities, built once: the same bytes for every session.</summary>
    private static readonly byte[][] CapsAnswers = [.. Enumerable.Range(0, (int)Capabilities.Presence * 2).Select(caps => CapsAnswer((Capabilities)caps))];

    /// <summary>The <c>caps</c> answer: the enabled capabilities in the server's own order.</summary>
    private static byte[] CapsAnswer(Capabilities caps)
    {
        var names = new List<string>(ClientFrames.KnownCaps.Length);
        foreach (var (capName, cap) in ClientFrames.KnownCaps)
        {
            if ((caps & cap) != 0)
            {
                names.Add(capName);
            }
        }

        return ChatFrames.Caps([.. names]);
    }

    /// <summary>
    /// <c>{"delete": timestamp}</c>: a verified author deletes their own message, a moderator any; the
    /// room decides whether there is such a message and whose it is.
    /// </summary>
    private Task ReceiveDelete(ReadOnlySpan<byte> frame)
    {
        if (ClientFrames.ReadDelete(frame, out var timestamp) is { } error)
        {
            connection.Send(error);
            return Task.CompletedTask;
        }

        if (_membership is not { } membership || _identity.Current is not { } identity)
        {
            // Anonymous sessions cannot delete, not even their own messages.
            connection.Send(ErrorFrames.CannotDelete);
            return Task.CompletedTask;
        }

        return DeleteAsync(membership, identity, timestamp);
    }

    private async Task DeleteAsync(RoomMembership membership, ChatIdentity identity, long timestamp)
    {
        var moderator = identity.MayModerate(room);
        try
        {
            var outcome = await membership.DeleteAsync(timestamp, identity.User, moderator ? null : identity.User);
            switch (outcome.Result)
            {
                case DeleteResult.NoSuchMessage:
                    connection.Send(ErrorFrames.NoSuchMessage);
                    break;
                case DeleteResult.NotAllowed:
                    connection.Send(ErrorFrames.CannotDelete);
                    break;
                case DeleteResult.Deleted when moderator:
                    await policy.AuditDeleteAsync(identity, room, timestamp, outcome);
                    break;
            }
        }
        catch (Exception exception)
        {
            LogDeleteFailed(logger, exception, room);
            connection.Send(ErrorFrames.DeleteFailed);
        }
    }

    /// <summary><c>{"token": ...}</c> later on: a fresh token of the same user replaces the session's.</summary>
    private Task ReceiveToken(ReadOnlySpan<byte> frame)
    {
        if (ClientFrames.ReadToken(frame, out var token) is { } error)
        {
            connection.Close(WebSocketCloseStatus.PolicyViolation, "Invalid token.", error);
            return Task.CompletedTask;
        }

        return ReplaceTokenAsync(token);
    }

    private async Task ReplaceTokenAsync(string token)
    {
        if (!_identity.TryReplace(await policy.VerifyAsync(token), room))
        {
            connection.Close(WebSocketCloseStatus.PolicyViolation, "Invalid token.", ErrorFrames.InvalidToken);
        }
    }

    [LoggerMessage(EventId = 4002, Level = LogLevel.Warning, Message = "Posting to room {Room} failed")]
    private static partial void LogPostFailed(ILogger logger, Exception exception, string room);

    [LoggerMessage(EventId = 4004, Level = LogLevel.Warning, Message = "Saving an edit or a reaction in room {Room} failed")]
    private static partial void LogChangeFailed(ILogger logger, Exception exception, string room);

    [LoggerMessage(EventId = 4003, Level = LogLevel.Warning, Message = "Deleting a message in room {Room} failed")]
    private static partial void LogDeleteFailed(ILogger logger, Exception exception, string room);
}
