using Chat.Orleans.Gateway.Extensions;
using Chat.Orleans.ServiceDefaults;

namespace Chat.Orleans.Gateway;

public static class Program
{
    public static int Main(string[] args)
    {
        var builder = WebApplication.CreateBuilder(args is ["token", ..] ? [] : args);
        if (args is ["token", .. var tokenArgs])
        {
            // Not the gateway: a token for local use, signed with the gateway's own key (see TokenCommand).
            return Auth.TokenCommand.Run(tokenArgs, builder.Configuration);
        }

        Build(builder).Run();
        return 0;
    }

    /// <summary>The gateway, step by step. The tests build it the same way, around their own settings.</summary>
    public static WebApplication Build(WebApplicationBuilder builder)
    {
        builder.AddGatewayOptions();
        builder.AddAuth();
        builder.AddOrleansClient();
        builder.AddDatabase();
        builder.AddRoomSubscriptions();
        builder.AddChatSessions();
        builder.AddModeration();
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
