using System.Globalization;
using System.Text.Json;
using Chat.Orleans.Gateway.Connections;
using Chat.Orleans.Gateway.Rooms;

namespace Chat.Orleans.Gateway;

/// <summary>
/// Who is where (PROTOCOL.md, "Rooms directory"): <c>GET /api/rooms?limit=</c>, the busiest public rooms
/// from the directory the silos report to (never a call per room), and <c>GET /api/room/&lt;name&gt;/presence</c>,
/// one room's people.
/// </summary>
public static partial class RoomsEndpoints
{
    private const int DefaultLimit = 50;
    private const int MaxLimit = 100;

    public static WebApplication MapRoomsEndpoints(this WebApplication app)
    {
        app.MapGet("/api/rooms", ListAsync);
        return app;
    }

    private static async Task<IResult> ListAsync(HttpContext context, ClientLimits clientLimits, IClusterClient cluster, ILoggerFactory loggers)
    {
        if (ChatEndpoints.RefuseRead(context, clientLimits) is { } refusal)
        {
            return refusal;
        }

        var limit = DefaultLimit;
        if (context.Request.Query.TryGetValue("limit", out var limitText)
            && (!int.TryParse(limitText, NumberStyles.None, CultureInfo.InvariantCulture, out limit) || limit is < 1 or > MaxLimit))
        {
            return Results.Text("limit must be an integer from 1 to 100.", statusCode: StatusCodes.Status400BadRequest);
        }

        try
        {
            var rooms = await cluster.GetGrain<IRoomDirectoryGrain>(0).List(limit);
            return Results.Bytes(Serialize(rooms), "application/json");
        }
        catch (Exception exception) when (exception is not OperationCanceledException)
        {
            LogDirectoryFailed(loggers.CreateLogger(typeof(RoomsEndpoints)), exception);
            return ChatEndpoints.Unavailable();
        }
    }

    /// <param name="room">The room's name, already checked against the socket route's rules.</param>
    public static async Task<IResult> PresenceAsync(
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

        try
        {
            // As on the socket: a 64-hex id the server never minted is no room at all.
            if (isPrivate && !await roomIds.IsMintedAsync(room, context.RequestAborted))
            {
                return Results.Text("Not found", statusCode: StatusCodes.Status404NotFound);
            }

            // The body is the presence frame itself: {"presence": [...]}.
            return Results.Bytes(await cluster.GetGrain<IRoomGrain>(room).Presence(), "application/json");
        }
        catch (Exception exception) when (exception is not OperationCanceledException)
        {
            LogPresenceFailed(loggers.CreateLogger(typeof(RoomsEndpoints)), exception, room);
            return ChatEndpoints.Unavailable();
        }
    }

    private static byte[] Serialize(RoomCount[] rooms)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteStartArray("rooms"u8);
            foreach (var room in rooms)
            {
                writer.WriteStartObject();
                writer.WriteString("name"u8, room.Room);
                writer.WriteNumber("members"u8, room.Members);
                writer.WriteEndObject();
            }

            writer.WriteEndArray();
            writer.WriteEndObject();
        }

        return buffer.ToArray();
    }

    [LoggerMessage(EventId = 5003, Level = LogLevel.Warning, Message = "Reading the rooms directory failed")]
    private static partial void LogDirectoryFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 5004, Level = LogLevel.Warning, Message = "Reading the presence of room {Room} failed")]
    private static partial void LogPresenceFailed(ILogger logger, Exception exception, string room);
}
