using Chat.Orleans.Gateway.Sessions;

namespace Chat.Orleans.Gateway.Auth;

/// <summary>HTTP callers' identity (PROTOCOL.md, "Moderation"): <c>Authorization: Bearer &lt;JWT&gt;</c>, checked like a session's token.</summary>
public static class BearerAuth
{
    /// <summary>The caller's identity, or the 401 to answer (no token, or a bad one).</summary>
    public static async Task<(ChatIdentity? Identity, IResult? Refusal)> AuthenticateAsync(HttpContext context, SessionPolicy policy)
    {
        var header = context.Request.Headers.Authorization.ToString();
        const string scheme = "Bearer ";
        if (!header.StartsWith(scheme, StringComparison.OrdinalIgnoreCase) || header.Length == scheme.Length)
        {
            return (null, Unauthorized(context));
        }

        var identity = await policy.VerifyAsync(header[scheme.Length..].Trim());
        return identity is null ? (null, Unauthorized(context)) : (identity, null);
    }

    public static IResult Forbidden() => Results.Text("Forbidden", statusCode: StatusCodes.Status403Forbidden);

    private static IResult Unauthorized(HttpContext context)
    {
        context.Response.Headers.WWWAuthenticate = "Bearer";
        return Results.Text("Unauthorized", statusCode: StatusCodes.Status401Unauthorized);
    }
}
