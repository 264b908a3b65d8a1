using System.Globalization;
using System.Net;
using System.Text.Json;
using Chat.Orleans.Gateway.Auth;
using Chat.Orleans.Gateway.Rooms;
using Chat.Orleans.Gateway.Sessions;
using Microsoft.Extensions.Options;

namespace Chat.Orleans.Gateway.Moderation;

/// <summary>
/// The HTTP side of moderation (PROTOCOL.md, "Moderation"): bans and mutes, deleting a message, closing a
/// room, posting as the service, and the audit log. Every call carries a bearer token; 401 without a good
/// one, 403 with too little.
/// </summary>
public static partial class ModerationEndpoints
{
    private const int MaxBodyBytes = 8 * 1024;
    private const int MaxReasonLength = 500;

    public static WebApplication MapModerationEndpoints(this WebApplication app)
    {
        app.MapPost("/api/bans", AddBanAsync);
        app.MapGet("/api/bans", ListBansAsync);
        app.MapDelete("/api/bans/{id}", LiftBanAsync);
        app.MapGet("/api/audit", ReadAuditAsync);
        return app;
    }

    /// <summary><c>DELETE /api/room/&lt;name&gt;</c> (admin): every member closed with 1000, the history erased.</summary>
    public static async Task<IResult> CloseRoomAsync(HttpContext context, string room, SessionPolicy policy, IClusterClient cluster, AuditLog audit, GatewayMetrics metrics)
    {
        var (identity, refusal) = await BearerAuth.AuthenticateAsync(context, policy);
        if (identity is null)
        {
            return refusal!;
        }

        if (!identity.IsAdmin)
        {
            return BearerAuth.Forbidden();
        }

        await cluster.GetGrain<IRoomGrain>(room).Close();
        await AuditAsync(audit, metrics, identity, "close", room, $"room {room}", null);
        return Results.StatusCode(StatusCodes.Status204NoContent);
    }

    /// <summary><c>DELETE /api/room/&lt;name&gt;/messages/&lt;timestamp&gt;</c>: a moderator's delete (or a verified author's of their own).</summary>
    public static async Task<IResult> DeleteMessageAsync(HttpContext context, string room, string timestampText, SessionPolicy policy, IClusterClient cluster, AuditLog audit, GatewayMetrics metrics)
    {
        var (identity, refusal) = await BearerAuth.AuthenticateAsync(context, policy);
        if (identity is null)
        {
            return refusal!;
        }

        if (!long.TryParse(timestampText, NumberStyles.None, CultureInfo.InvariantCulture, out var timestamp))
        {
            return Results.Text("Not found", statusCode: StatusCodes.Status404NotFound);
        }

        var moderator = identity.MayModerate(room);
        var outcome = await cluster.GetGrain<IRoomGrain>(room).Delete(timestamp, identity.User, moderator ? null : identity.User);
        switch (outcome.Result)
        {
            case DeleteResult.NoSuchMessage:
                return Results.Text("No such message", statusCode: StatusCodes.Status404NotFound);
            case DeleteResult.NotAllowed:
                return BearerAuth.Forbidden();
        }

        if (outcome.Author != identity.User)
        {
            await AuditAsync(audit, metrics, identity, "delete", room, $"message {timestamp}", null);
        }

        return Results.StatusCode(StatusCodes.Status204NoContent);
    }

    /// <summary>
    /// <c>POST /api/room/&lt;name&gt;/messages</c> with <c>{"name", "message"[, "id"]}</c> (admin, or a
    /// publisher token): stored and relayed like any post, once per <c>id</c>.
    /// </summary>
    public static async Task<IResult> PublishAsync(HttpContext context, string room, SessionPolicy policy, IClusterClient cluster, AuditLog audit, GatewayMetrics metrics, ChatGatewayOptions options)
    {
        var (identity, refusal) = await BearerAuth.AuthenticateAsync(context, policy);
        if (identity is null)
        {
            return refusal!;
        }

        if (!identity.MayPublish(room))
        {
            return BearerAuth.Forbidden();
        }

        using var body = await ReadBodyAsync(context);
        if (body is null)
        {
            return BadRequest("The body must be a JSON object of at most 8 KiB.");
        }

        var root = body.RootElement;
        var name = String(root, "name");
        var message = String(root, "message");
        var id = String(root, "id");
        if (string.IsNullOrEmpty(name) || name.Length > options.MaxNameLength)
        {
            return BadRequest($"name must be a string of 1 to {options.MaxNameLength} characters.");
        }

        if (message is null || message.Length > options.MaxMessageLength)
        {
            return BadRequest($"message must be a string of at most {options.MaxMessageLength} characters.");
        }

        if (root.TryGetProperty("id", out _) && (id is null || !PostKeys.IsValidClientId(id)))
        {
            return BadRequest("id must be 1 to 64 characters of A-Z, a-z, 0-9, _ and -.");
        }

        // Without an id the call is not safe to retry; with one, a retry answers the first one's timestamp.
        var key = id ?? PostKeys.ForSession("svc" + Guid.NewGuid().ToString("N")[..13], 1);
        var timestamp = await cluster.GetGrain<IRoomGrain>(room).Post(name, message, key);
        await AuditAsync(audit, metrics, identity, "post", room, $"message {timestamp}", null);
        return Results.Json(new { timestamp });
    }

    private static async Task<IResult> AddBanAsync(HttpContext context, SessionPolicy policy, BanStore store, BanWatcher watcher, GatewayMetrics metrics, IOptions<ChatGatewayOptions> options)
    {
        var (identity, refusal) = await BearerAuth.AuthenticateAsync(context, policy);
        if (identity is null)
        {
            return refusal!;
        }

        using var body = await ReadBodyAsync(context);
        if (body is null)
        {
            return BadRequest("The body must be a JSON object of at most 8 KiB.");
        }

        var root = body.RootElement;
        var user = String(root, "user");
        var ipText = String(root, "ip");
        var room = String(root, "room");
        var reason = String(root, "reason");
        if ((user is null) == (ipText is null))
        {
            return BadRequest("Give either user or ip.");
        }

        if (user is not null && (user.Length is 0 or > TokenVerifier.MaxUserLength))
        {
            return BadRequest($"user must be 1 to {TokenVerifier.MaxUserLength} characters.");
        }

        IPAddress? ip = null;
        if (ipText is not null && !IPAddress.TryParse(ipText, out ip))
        {
            return BadRequest("ip must be an IPv4 or IPv6 address.");
        }

        if (room is not null && !IsRoomName(room, options.Value))
        {
            return BadRequest("room must be a room name of at most 32 characters or a private room id.");
        }

        if (reason is { Length: > MaxReasonLength })
        {
            return BadRequest($"reason must be at most {MaxReasonLength} characters.");
        }

        DateTimeOffset? until = null;
        if (root.TryGetProperty("minutes", out var minutes))
        {
            if (minutes.ValueKind != JsonValueKind.Number || !minutes.TryGetInt32(out var count) || count is < 1 or > 10 * 366 * 24 * 60)
            {
                return BadRequest("minutes must be a positive whole number of minutes.");
            }

            until = DateTimeOffset.UtcNow.AddMinutes(count);
        }

        var mute = root.TryGetProperty("mute", out var muteField) && muteField.ValueKind == JsonValueKind.True;
        if (room is null ? !identity.MayModerateEverywhere : !identity.MayModerate(room))
        {
            // Moderators ban in their rooms only ("room" required); admins everywhere.
            return BearerAuth.Forbidden();
        }

        var ban = new Ban(0, user, ip is null ? null : Ban.Normalize(ip), room, mute, until, reason, identity.User, DateTimeOffset.UtcNow);
        var id = await store.AddAsync(ban, context.RequestAborted);
        metrics.ModerationAction(mute ? "mute" : "ban");

        // This gateway enforces it before answering; the others within their next period.
        await watcher.RefreshAsync(context.RequestAborted);
        return Results.Json(new { id }, statusCode: StatusCodes.Status201Created);
    }

    private static async Task<IResult> ListBansAsync(HttpContext context, SessionPolicy policy, BanStore store)
    {
        var (identity, refusal) = await BearerAuth.AuthenticateAsync(context, policy);
        if (identity is null)
        {
            return refusal!;
        }

        if (identity.Role is not (ChatIdentity.Roles.Admin or ChatIdentity.Roles.Moderator))
        {
            return BearerAuth.Forbidden();
        }

        var bans = await store.ReadAsync(context.RequestAborted);
        var visible = identity.IsAdmin ? bans : Array.FindAll(bans, ban => ban.Room is not null && identity.MayModerate(ban.Room));
        return Results.Bytes(WriteBans(visible), "application/json");
    }

    private static async Task<IResult> LiftBanAsync(HttpContext context, string id, SessionPolicy policy, BanStore store, BanWatcher watcher, GatewayMetrics metrics)
    {
        var (identity, refusal) = await BearerAuth.AuthenticateAsync(context, policy);
        if (identity is null)
        {
            return refusal!;
        }

        if (!long.TryParse(id, NumberStyles.None, CultureInfo.InvariantCulture, out var banId))
        {
            return Results.Text("No such ban", statusCode: StatusCodes.Status404NotFound);
        }

        var ban = Array.Find(await store.ReadAsync(context.RequestAborted), b => b.Id == banId);
        if (ban is not null && !(ban.Room is null ? identity.MayModerateEverywhere : identity.MayModerate(ban.Room)))
        {
            return BearerAuth.Forbidden();
        }

        if (ban is null || !await store.LiftAsync(banId, identity.User, context.RequestAborted))
        {
            return Results.Text("No such ban", statusCode: StatusCodes.Status404NotFound);
        }

        metrics.ModerationAction(ban.Mute ? "unmute" : "unban");
        await watcher.RefreshAsync(context.RequestAborted);
        return Results.StatusCode(StatusCodes.Status204NoContent);
    }

    private static async Task<IResult> ReadAuditAsync(HttpContext context, SessionPolicy policy, AuditLog audit)
    {
        var (identity, refusal) = await BearerAuth.AuthenticateAsync(context, policy);
        if (identity is null)
        {
            return refusal!;
        }

        if (!identity.IsAdmin)
        {
            return BearerAuth.Forbidden();
        }

        var limit = 100;
        if (context.Request.Query.TryGetValue("limit", out var limitText)
            && (!int.TryParse(limitText, NumberStyles.None, CultureInfo.InvariantCulture, out limit) || limit is < 1 or > AuditLog.MaxLimit))
        {
            return BadRequest($"limit must be an integer from 1 to {AuditLog.MaxLimit}.");
        }

        var room = context.Request.Query.TryGetValue("room", out var roomText) && !string.IsNullOrEmpty(roomText) ? roomText.ToString() : null;
        var entries = await audit.ReadAsync(room, limit, context.RequestAborted);
        return Results.Json(new
        {
            entries = entries.Select(e => new { at = e.At.ToUnixTimeMilliseconds(), actor = e.Actor, action = e.Action, room = e.Room, target = e.Target, reason = e.Reason }),
        });
    }

    private static async Task AuditAsync(AuditLog audit, GatewayMetrics metrics, ChatIdentity actor, string action, string room, string target, string? reason)
    {
        metrics.ModerationAction(action);
        await audit.WriteAsync(new AuditEntry(DateTimeOffset.UtcNow, actor.User, action, room, target, reason), CancellationToken.None);
    }

    private static byte[] WriteBans(Ban[] bans)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteStartArray("bans"u8);
            foreach (var ban in bans)
            {
                writer.WriteStartObject();
                writer.WriteNumber("id"u8, ban.Id);
                if (ban.User is not null)
                {
                    writer.WriteString("user"u8, ban.User);
                }
                else
                {
                    writer.WriteString("ip"u8, ban.Ip!.ToString());
                }

                if (ban.Room is not null)
                {
                    writer.WriteString("room"u8, ban.Room);
                }

                writer.WriteBoolean("mute"u8, ban.Mute);
                if (ban.Until is { } until)
                {
                    writer.WriteNumber("until"u8, until.ToUnixTimeMilliseconds());
                }

                if (ban.Reason is not null)
                {
                    writer.WriteString("reason"u8, ban.Reason);
                }

                writer.WriteString("by"u8, ban.By);
                writer.WriteNumber("at"u8, ban.At.ToUnixTimeMilliseconds());
                writer.WriteEndObject();
            }

            writer.WriteEndArray();
            writer.WriteEndObject();
        }

        return buffer.ToArray();
    }

    private static bool IsRoomName(string room, ChatGatewayOptions options) => RoomIds.IsPrivateRoomId(room) || (room.Length is > 0 && room.Length <= options.MaxNameLength);

    private static string? String(JsonElement root, string property) =>
        root.TryGetProperty(property, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    private static IResult BadRequest(string text) => Results.Text(text, statusCode: StatusCodes.Status400BadRequest);

    /// <summary>The request's JSON object, or null when it is not one or is larger than <see cref="MaxBodyBytes"/>.</summary>
    private static async Task<JsonDocument?> ReadBodyAsync(HttpContext context)
    {
        var buffer = new MemoryStream();
        var chunk = new byte[4096];
        int read;
        while ((read = await context.Request.Body.ReadAsync(chunk, context.RequestAborted)) > 0)
        {
            if (buffer.Length + read > MaxBodyBytes)
            {
                return null;
            }

            buffer.Write(chunk, 0, read);
        }

        try
        {
            var document = JsonDocument.Parse(buffer.ToArray());
            if (document.RootElement.ValueKind == JsonValueKind.Object)
            {
                return document;
            }

            document.Dispose();
            return null;
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
