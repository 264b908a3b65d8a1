using System.Collections.Concurrent;

namespace Chat.Orleans.Bench.Floor;

/// <summary>
/// The floor: the least a WebSocket broadcast server must do to speak the chat protocol (the same frames),
/// in one process, with no Orleans and no database. The chat's figures are reported as ratios to it.
/// </summary>
public static class FloorServer
{
    public static async Task<int> RunAsync(string[] args)
    {
        var builder = WebApplication.CreateSlimBuilder(args);
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        var app = builder.Build();
        app.UseWebSockets(new WebSocketOptions { KeepAliveInterval = TimeSpan.FromSeconds(15) });

        app.MapGet("/healthz", () => "ok");
        var rooms = new ConcurrentDictionary<string, FloorRoom>();
        app.Map("/api/room/{name}/websocket", async (HttpContext context, string name) =>
        {
            if (!context.WebSockets.IsWebSocketRequest)
            {
                context.Response.StatusCode = StatusCodes.Status400BadRequest;
                return;
            }

            using var socket = await context.WebSockets.AcceptWebSocketAsync();
            var room = rooms.GetOrAdd(name, static _ => new FloorRoom());
            await new FloorMember(socket, room).RunAsync();
        });

        await app.RunAsync();
        return 0;
    }
}
