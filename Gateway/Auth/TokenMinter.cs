using System.Text;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Chat.Orleans.Gateway.Auth;

/// <summary>
/// Makes HS256 tokens the way an operator's back end would (for local use: <c>./run.sh token</c>, and the
/// tests). The gateway itself never mints tokens for clients.
/// </summary>
public static class TokenMinter
{
    public static string Mint(string signingKey, TokenRequest request)
    {
        var claims = new Dictionary<string, object> { ["sub"] = request.User };
        if (request.Name is not null)
        {
            claims["name"] = request.Name;
        }

        if (request.Role is not null)
        {
            claims["role"] = request.Role;
        }

        if (request.Rooms is not null)
        {
            claims["rooms"] = request.Rooms;
        }

        // A negative lifetime makes a token that has already expired (for tests): it must still have begun first.
        var now = DateTime.UtcNow;
        var expires = now + request.Lifetime;
        var begins = expires > now ? now : expires - TimeSpan.FromMinutes(1);
        return new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
        {
            Claims = claims,
            IssuedAt = begins,
            NotBefore = begins,
            Expires = expires,
            Issuer = request.Issuer,
            Audience = request.Audience,
            SigningCredentials = new SigningCredentials(new SymmetricSecurityKey(Encoding.UTF8.GetBytes(signingKey)), SecurityAlgorithms.HmacSha256),
        });
    }
}

/// <summary>What a minted token says (see PROTOCOL.md, "Identity", for each claim).</summary>
public sealed record TokenRequest(string User, string? Name, string? Role, string[]? Rooms, TimeSpan Lifetime, string? Issuer = null, string? Audience = null);
