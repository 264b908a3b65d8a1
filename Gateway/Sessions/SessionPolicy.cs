using System.Net;
using Chat.Orleans.Gateway.Auth;
using Chat.Orleans.Gateway.Moderation;
using Chat.Orleans.Gateway.Protocol;

namespace Chat.Orleans.Gateway.Sessions;

/// <summary>
/// Who may do what in a session, by the gateway's rules: sign-in (the auth mode and the token), bans and
/// mutes, and the audit of what a moderator did. The session asks; the answers are frames to send.
/// </summary>
public sealed partial class SessionPolicy(TokenVerifier tokens, BanList bans, AuditLog audit, GatewayMetrics metrics, ILogger<SessionPolicy> logger)
{
    /// <summary>
    /// The session's identity from its name frame's token, or the refusal to send before closing (1008):
    /// a bad token, a token that does not list the room, or no token where one is required.
    /// </summary>
    public async Task<(ChatIdentity? Identity, byte[]? Refusal)> SignInAsync(string? token, string room)
    {
        if (token is null)
        {
            return tokens.Mode == AuthMode.Required ? (null, ErrorFrames.SignInRequired) : (null, null);
        }

        var identity = await VerifyAsync(token);
        if (identity is null)
        {
            return (null, ErrorFrames.InvalidToken);
        }

        if (!identity.MayJoin(room))
        {
            Refused("room not listed");
            return (null, ErrorFrames.InvalidToken);
        }

        return (identity, null);
    }

    /// <summary>A token's identity, or null when refused (the reason is logged and counted, never sent).</summary>
    public async Task<ChatIdentity?> VerifyAsync(string token)
    {
        var check = await tokens.VerifyAsync(token);
        if (check.Identity is null)
        {
            Refused(check.Refusal!);
        }

        return check.Identity;
    }

    public bool IsBanned(ChatIdentity? identity, IPAddress address, string room)
    {
        if (bans.FindBan(identity?.User, address, room) is null)
        {
            return false;
        }

        metrics.SessionBanned();
        return true;
    }

    public bool IsMuted(ChatIdentity? identity, IPAddress address, string room) => bans.IsMuted(identity?.User, address, room);

    /// <summary>Records a moderator's delete of someone else's message (an author's delete of their own is not audited).</summary>
    public async Task AuditDeleteAsync(ChatIdentity moderator, string room, long timestamp, DeleteOutcome outcome)
    {
        if (outcome.Author == moderator.User)
        {
            return;
        }

        metrics.ModerationAction("delete");
        try
        {
            await audit.WriteAsync(new AuditEntry(DateTimeOffset.UtcNow, moderator.User, "delete", room, $"message {timestamp}", null), CancellationToken.None);
        }
        catch (Exception exception)
        {
            LogAuditFailed(logger, exception, room);
        }
    }

    private void Refused(string reason)
    {
        metrics.TokenRefused(reason);
        LogTokenRefused(logger, reason);
    }

    [LoggerMessage(EventId = 6001, Level = LogLevel.Information, Message = "A token was refused: {Reason}")]
    private static partial void LogTokenRefused(ILogger logger, string reason);

    [LoggerMessage(EventId = 6103, Level = LogLevel.Error, Message = "Writing the audit entry of a delete in room {Room} failed")]
    private static partial void LogAuditFailed(ILogger logger, Exception exception, string room);
}
