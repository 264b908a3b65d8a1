using Chat.Orleans.Gateway.Extensions;
using Chat.Orleans.ServiceDefaults;

namespace Chat.Orleans.Gateway;

public static class Program
{
    public static void Main(string[] args) => Build(WebApplication.CreateBuilder(args)).Run();

    /// <summary>The gateway, step by step. The tests build it the same way, around their own settings.</summary>
    public static WebApplication Build(WebApplicationBuilder builder)
    {
        builder.AddGatewayOptions();
        builder.AddOrleansClient();
        builder.AddDatabase();
        builder.AddRoomSubscriptions();
        builder.AddChatSessions();
        builder.AddSocketLimits();
        builder.AddClientAddress();
        builder.AddServiceDefaults();
        builder.AddGatewayHealth();
        builder.AddGatewayMetrics();

        var app = builder.Build();

        // Middleware, in order: the client's address first (the rate limit reads it), then WebSocket
        // upgrades, then the page's static files; the endpoints come last.
        app.UseClientAddress();
        app.UseWebSockets();
        app.UseChatPageFiles();

        app.MapDefaultEndpoints();
        app.MapChatEndpoints();
        return app;
    }
}
