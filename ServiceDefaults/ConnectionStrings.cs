using Microsoft.Extensions.Configuration;

namespace Chat.Orleans.ServiceDefaults;

/// <summary>The one PostgreSQL database of the chat, as every process finds it.</summary>
public static class ConnectionStrings
{
    /// <summary><c>ConnectionStrings:Chat</c> (environment: <c>ConnectionStrings__Chat</c>); required.</summary>
    public static string GetChatConnectionString(this IConfiguration configuration) =>
        configuration.GetConnectionString("Chat")
        ?? throw new InvalidOperationException("ConnectionStrings:Chat (env ConnectionStrings__Chat) is not set.");
}
