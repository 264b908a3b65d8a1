using System.Net;
using System.Net.WebSockets;
using Chat.Orleans.Gateway.Extensions;
using Chat.Orleans.Gateway.Rooms;
using Chat.Orleans.Gateway.Sessions;
using Chat.Orleans.ServiceDefaults;
using Microsoft.Extensions.FileProviders;
using Microsoft.Extensions.Options;

namespace Chat.Orleans.Gateway;

/// <summary>The routes of the protocol, answered exactly as the original answers them.</summary>
public static partial class ChatEndpoints
{
    /// <summary>Only the page's own script, style and WebSocket: user text can never become code.</summary>
    private const string ContentSecurityPolicy =
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; " +
        "base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

    public static WebApplication MapChat(this WebApplication app)
    {
        app.UseChatClientAddress();
        app.UseWebSockets();
        app.UseStaticFiles(new StaticFileOptions
        {
            OnPrepareResponse = context => context.Context.Response.Headers.ContentSecurityPolicy = ContentSecurityPolicy,
        });

        var page = ReadPage(app.Environment.WebRootFileProvider);
        app.MapGet("/", (HttpContext context) =>
        {
            context.Response.Headers.ContentSecurityPolicy = ContentSecurityPolicy;
            return Results.Bytes(page, "text/html;charset=UTF-8");
        });

        app.MapDefaultEndpoints();
        app.Map("/api/room", CreateRoomAsync);
        app.Map("/api/room/{**path}", RoomAsync);
        app.MapFallback(() => Results.Text("Not found", statusCode: StatusCodes.Status404NotFound));
        return app;
    }

    private static async Task<IResult> CreateRoomAsync(HttpContext context, RoomIds roomIds)
    {
        if (!HttpMethods.IsPost(context.Request.Method))
        {
            return Results.Text("Method not allowed", statusCode: StatusCodes.Status405MethodNotAllowed);
        }

        context.Response.Headers.AccessControlAllowOrigin = "*";
        return Results.Text(await roomIds.MintAsync(context.RequestAborted));
    }

    private static async Task<IResult> RoomAsync(
        HttpContext context,
        string? path,
        RoomIds roomIds,
        RoomRegistry registry,
        IClusterClient cluster,
        IHostApplicationLifetime lifetime,
        IOptions<GatewayOptions> options,
        SocketLimit socketLimit,
        GatewayMetrics metrics,
        ILoggerFactory loggers)
    {
        var slash = path?.IndexOf('/') ?? -1;
        var name = slash < 0 ? path : path![..slash];
        var rest = slash < 0 ? "" : path![(slash + 1)..];
        if (string.IsNullOrEmpty(name))
        {
            return await CreateRoomAsync(context, roomIds);
        }

        var isPrivate = RoomIds.IsPrivateRoomId(name);
        if (!isPrivate && name.Length > options.Value.MaxNameLength)
        {
            return Results.Text("Name too long", statusCode: StatusCodes.Status404NotFound);
        }

        if (rest != "websocket")
        {
            return Results.Text("Not found", statusCode: StatusCodes.Status404NotFound);
        }

        if (!context.WebSockets.IsWebSocketRequest)
        {
            return Results.Text("expected websocket", statusCode: StatusCodes.Status400BadRequest);
        }

        var allowedOrigins = options.Value.AllowedOrigins;
        if (allowedOrigins.Length > 0 && !allowedOrigins.Contains(context.Request.Headers.Origin.ToString(), StringComparer.OrdinalIgnoreCase))
        {
            return Results.Text("Origin not allowed", statusCode: StatusCodes.Status403Forbidden);
        }

        if (!socketLimit.TryEnter())
        {
            metrics.SocketRefused();
            context.Response.Headers.RetryAfter = "10";
            return Results.Text("Too many connections; try again later.", statusCode: StatusCodes.Status503ServiceUnavailable);
        }

        try
        {
            return await RunSocketAsync(context, name, isPrivate, registry, cluster, roomIds, lifetime, options.Value, metrics, loggers);
        }
        finally
        {
            socketLimit.Exit();
        }
    }

    private static async Task<IResult> RunSocketAsync(
        HttpContext context,
        string name,
        bool isPrivate,
        RoomRegistry registry,
        IClusterClient cluster,
        RoomIds roomIds,
        IHostApplicationLifetime lifetime,
        GatewayOptions options,
        GatewayMetrics metrics,
        ILoggerFactory loggers)
    {
        using var socket = await context.WebSockets.AcceptWebSocketAsync(new WebSocketAcceptContext
        {
            KeepAliveInterval = options.KeepAliveInterval,
            KeepAliveTimeout = options.KeepAliveTimeout,
        });

        // Browsers hide the body of a failed upgrade, so setup errors travel as an error frame.
        var setupError = await CheckSetupAsync(name, isPrivate, roomIds, lifetime, loggers, context.RequestAborted);
        if (setupError is not null)
        {
            await ChatSession.RejectAsync(socket, setupError, options.CloseTimeout);
            return Results.Empty;
        }

        var clientAddress = context.Connection.RemoteIpAddress ?? IPAddress.None;
        var session = new ChatSession(socket, name, clientAddress, registry, cluster, options, metrics, loggers.CreateLogger<ChatSession>());
        await session.RunAsync(lifetime.ApplicationStopping);
        return Results.Empty;
    }

    private static async Task<string?> CheckSetupAsync(
        string room,
        bool isPrivate,
        RoomIds roomIds,
        IHostApplicationLifetime lifetime,
        ILoggerFactory loggers,
        CancellationToken cancellationToken)
    {
        // The Orleans client is connected once the host has started (see AddChatGateway).
        if (!lifetime.ApplicationStarted.IsCancellationRequested)
        {
            return "The chat service is starting up. Please try again in a moment.";
        }

        if (!isPrivate)
        {
            return null;
        }

        try
        {
            return await roomIds.IsMintedAsync(room, cancellationToken) ? null : "Unknown private room.";
        }
        catch (Exception exception)
        {
            LogRoomIdCheckFailed(loggers.CreateLogger(typeof(ChatEndpoints)), exception);
            return "The chat service is unavailable. Please try again in a moment.";
        }
    }

    private static byte[] ReadPage(IFileProvider files)
    {
        var file = files.GetFileInfo("index.html");
        using var stream = file.CreateReadStream();
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    }

    [LoggerMessage(EventId = 5001, Level = LogLevel.Warning, Message = "Checking a private room id failed")]
    private static partial void LogRoomIdCheckFailed(ILogger logger, Exception exception);
}
