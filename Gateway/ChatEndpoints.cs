using System.Globalization;
using System.Net;
using Chat.Orleans.Gateway.Connections;
using Chat.Orleans.Gateway.Moderation;
using Chat.Orleans.Gateway.Rooms;
using Chat.Orleans.Gateway.Sessions;
using Microsoft.Extensions.FileProviders;
using Microsoft.Extensions.Options;

namespace Chat.Orleans.Gateway;

/// <summary>The page and the routes of the protocol, answered exactly as the original answers them.</summary>
public static partial class ChatEndpoints
{
    /// <summary>Only the page's own script, style and WebSocket: user text can never become code.</summary>
    private const string ContentSecurityPolicy =
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; " +
        "base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

    /// <summary>The page's script and style (wwwroot), under the same content security policy as the page.</summary>
    public static WebApplication UseChatPageFiles(this WebApplication app)
    {
        app.UseStaticFiles(new StaticFileOptions
        {
            OnPrepareResponse = context => context.Context.Response.Headers.ContentSecurityPolicy = ContentSecurityPolicy,
        });
        return app;
    }

    /// <summary>
    /// <c>/</c>, <c>/api/room</c>, <c>/api/room/&lt;name&gt;/websocket</c>, <c>/api/room/&lt;name&gt;/messages</c>
    /// (scrollback), <c>/api/room/&lt;name&gt;/presence</c>, <c>/api/rooms</c> (the directory), the moderation
    /// routes; 404 for everything else.
    /// </summary>
    public static WebApplication MapChatEndpoints(this WebApplication app)
    {
        var page = ReadPage(app.Environment.WebRootFileProvider);
        app.MapGet("/", (HttpContext context) =>
        {
            context.Response.Headers.ContentSecurityPolicy = ContentSecurityPolicy;
            return Results.Bytes(page, "text/html;charset=UTF-8");
        });
        app.MapModerationEndpoints();
        app.MapRoomsEndpoints();
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
        IOptions<ChatGatewayOptions> options,
        SocketLimit socketLimit,
        ClientLimits clientLimits,
        GatewayMetrics metrics,
        ChatSessionFactory sessions,
        IClusterClient cluster,
        SessionPolicy policy,
        AuditLog audit,
        IHostApplicationLifetime lifetime,
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

        var method = context.Request.Method;
        var moderation = (rest == "" && HttpMethods.IsDelete(method))
            || (rest == "messages" && HttpMethods.IsPost(method))
            || (rest.StartsWith("messages/", StringComparison.Ordinal) && HttpMethods.IsDelete(method));
        if (moderation)
        {
            if (isPrivate && !await roomIds.IsMintedAsync(name, context.RequestAborted))
            {
                return Results.Text("Not found", statusCode: StatusCodes.Status404NotFound);
            }

            return rest == ""
                ? await ModerationEndpoints.CloseRoomAsync(context, name, policy, cluster, audit, metrics)
                : rest == "messages"
                    ? await ModerationEndpoints.PublishAsync(context, name, policy, cluster, audit, metrics, options.Value)
                    : await ModerationEndpoints.DeleteMessageAsync(context, name, rest["messages/".Length..], policy, cluster, audit, metrics);
        }

        if (rest == "messages")
        {
            return await ScrollbackEndpoint.ReadAsync(context, name, isPrivate, roomIds, clientLimits, cluster, loggers);
        }

        if (rest == "presence")
        {
            return await RoomsEndpoints.PresenceAsync(context, name, isPrivate, roomIds, clientLimits, cluster, loggers);
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

        // Per-address caps apply where there is an address (not to a Unix socket or an in-memory host).
        var clientAddress = context.Connection.RemoteIpAddress;
        var retryAfter = TimeSpan.Zero;
        using var admitted = clientAddress is null ? null : clientLimits.TryAdmit(clientAddress, out retryAfter);
        if (clientAddress is not null && admitted is null)
        {
            socketLimit.Exit();
            metrics.SocketRefusedForAddress();
            return TooManyRequests(context, retryAfter, "Too many connections from your address; try again later.");
        }

        try
        {
            using var socket = await context.WebSockets.AcceptWebSocketAsync(new WebSocketAcceptContext
            {
                KeepAliveInterval = options.Value.KeepAliveInterval,
                KeepAliveTimeout = options.Value.KeepAliveTimeout,
            });

            // Browsers hide the body of a failed upgrade, so setup errors travel as an error frame.
            var setupError = await CheckSetupAsync(name, isPrivate, roomIds, lifetime, options.Value, loggers, context.RequestAborted);
            if (setupError is not null)
            {
                await ChatConnection.RejectAsync(socket, setupError, options.Value.CloseTimeout);
                return Results.Empty;
            }

            var session = sessions.Create(socket, name, clientAddress ?? IPAddress.None);
            await session.RunAsync(lifetime.ApplicationStopping);
            return Results.Empty;
        }
        finally
        {
            socketLimit.Exit();
        }
    }

    /// <summary>
    /// The refusal of a read route (scrollback, presence, the directory), or null: only GET, and at most the
    /// per-address rate of scrollback reads (one budget for all of them).
    /// </summary>
    internal static IResult? RefuseRead(HttpContext context, ClientLimits clientLimits)
    {
        if (!HttpMethods.IsGet(context.Request.Method))
        {
            return Results.Text("Method not allowed", statusCode: StatusCodes.Status405MethodNotAllowed);
        }

        if (context.Connection.RemoteIpAddress is { } address && !clientLimits.TryAdmitScrollback(address, out var retryAfter))
        {
            return TooManyRequests(context, retryAfter, "Too many requests; try again later.");
        }

        return null;
    }

    /// <summary>503 for an HTTP read the cluster or the database could not answer.</summary>
    internal static IResult Unavailable() =>
        Results.Text("The chat service is unavailable. Please try again in a moment.", statusCode: StatusCodes.Status503ServiceUnavailable);

    /// <summary>429 with <c>Retry-After</c> in whole seconds (at least one), for a client over a per-address limit.</summary>
    internal static IResult TooManyRequests(HttpContext context, TimeSpan retryAfter, string text)
    {
        context.Response.Headers.RetryAfter = Math.Max(1, (int)Math.Ceiling(retryAfter.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
        return Results.Text(text, statusCode: StatusCodes.Status429TooManyRequests);
    }

    private static async Task<string?> CheckSetupAsync(
        string room,
        bool isPrivate,
        RoomIds roomIds,
        IHostApplicationLifetime lifetime,
        ChatGatewayOptions options,
        ILoggerFactory loggers,
        CancellationToken cancellationToken)
    {
        // The Orleans client is connected once the host has started (see AddOrleansClient). A socket
        // that comes sooner waits for it: a client connecting during start-up just gets ready later.
        if (!await IsStartedAsync(lifetime, options.StartupJoinTimeout, cancellationToken))
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

    private static async Task<bool> IsStartedAsync(IHostApplicationLifetime lifetime, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var started = lifetime.ApplicationStarted;
        if (started.IsCancellationRequested)
        {
            return true;
        }

        using var waiting = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, started, lifetime.ApplicationStopping);
        try
        {
            await Task.Delay(timeout, waiting.Token);
        }
        catch (OperationCanceledException)
        {
        }

        return started.IsCancellationRequested;
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
