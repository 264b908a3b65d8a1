using System.Globalization;
using System.Text.Json;
using Chat.Orleans.Gateway.Connections;
using Chat.Orleans.Gateway.Rooms;

namespace Chat.Orleans.Gateway;

/// <summary>
/// <c>GET /api/room/&lt;name&gt;/messages?before=&lt;timestamp&gt;&amp;limit=&lt;n&gt;</c> (PROTOCOL.md,
/// "Scrollback"): a room's older messages, the newest <c>limit</c> (1–100, default 100) before
/// <c>before</c> (default: all), oldest first.
/// </summary>
public static partial class ScrollbackEndpoint
{
    private const int MaxLimit = 100;

    /// <param name="room">The room's name, already checked against the socket route's rules.</param>
    public static async Task<IResult> ReadAsync(
        HttpContext context,
        string room,
        bool isPrivate,
        RoomIds roomIds,
        ClientLimits clientLimits,
        IClusterClient cluster,
        ILoggerFactory loggers)
    {
        if (ChatEndpoints.RefuseRead(context, clientLimits) is { } refusal)
        {
            return refusal;
        }

        if (!TryReadParameters(context.Request.Query, out var before, out var limit, out var problem))
        {
            return Results.Text(problem, statusCode: StatusCodes.Status400BadRequest);
        }

        try
        {
            // As on the socket: a 64-hex id the server never minted is no room at all.
            if (isPrivate && !await roomIds.IsMintedAsync(room, context.RequestAborted))
            {
                return Results.Text("Not found", statusCode: StatusCodes.Status404NotFound);
            }

            var messages = await cluster.GetGrain<IScrollbackGrain>(0).ReadBefore(room, before, limit);
            return Results.Bytes(Serialize(messages), "application/json");
        }
        catch (Exception exception) when (exception is not OperationCanceledException)
        {
            LogScrollbackFailed(loggers.CreateLogger(typeof(ScrollbackEndpoint)), exception, room);
            return ChatEndpoints.Unavailable();
        }
    }

    private static bool TryReadParameters(IQueryCollection query, out long before, out int limit, out string problem)
    {
        before = long.MaxValue;
        limit = MaxLimit;
        problem = "";
        if (query.TryGetValue("before", out var beforeText)
            && (!long.TryParse(beforeText, NumberStyles.None, CultureInfo.InvariantCulture, out before)))
        {
            problem = "before must be a non-negative integer timestamp.";
            return false;
        }

        if (query.TryGetValue("limit", out var limitText)
            && (!int.TryParse(limitText, NumberStyles.None, CultureInfo.InvariantCulture, out limit) || limit is < 1 or > MaxLimit))
        {
            problem = "limit must be an integer from 1 to 100.";
            return false;
        }

        return true;
    }

    private static byte[] Serialize(ChatMessage[] messages)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteStartArray("messages"u8);
            foreach (var message in messages)
            {
                // Each one exactly as its message frame on the socket.
                writer.WriteRawValue(ChatFrames.Message(message.Name, message.Message, message.Timestamp, message.Id, message.User, message.EditedAt, message.Reactions), skipInputValidation: true);
            }

            writer.WriteEndArray();
            writer.WriteEndObject();
        }

        return buffer.ToArray();
    }

    [LoggerMessage(EventId = 5002, Level = LogLevel.Warning, Message = "Reading older messages of room {Room} failed")]
    private static partial void LogScrollbackFailed(ILogger logger, Exception exception, string room);
}
