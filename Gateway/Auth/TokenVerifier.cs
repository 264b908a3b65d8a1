using System.Text;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Chat.Orleans.Gateway.Auth;

/// <summary>
/// Checks a JSON Web Token (PROTOCOL.md, "Identity") with Microsoft.IdentityModel, without storage or a
/// call out, so any gateway accepts any session's token: HS256 with one of the configured keys, RS256 or
/// ES256 with a key of the JWKS file; <c>exp</c> required; <c>iss</c> and <c>aud</c> when configured.
/// </summary>
/// <remarks>
/// A refusal names its reason for the log and the metrics only: the client gets "Invalid token." and
/// nothing else, and no token is ever logged.
/// </remarks>
public sealed class TokenVerifier
{
    /// <summary>A token larger than this is refused before it is parsed (a socket's frame limit is smaller still).</summary>
    public const int MaxTokenBytes = 8 * 1024;

    public const int MaxUserLength = 64;
    public const int MaxNameLength = 32;

    private static readonly string[] Algorithms = [SecurityAlgorithms.HmacSha256, SecurityAlgorithms.RsaSha256, SecurityAlgorithms.EcdsaSha256];

    private readonly JsonWebTokenHandler _handler = new() { MaximumTokenSizeInBytes = MaxTokenBytes };
    private readonly TokenValidationParameters _parameters;

    public TokenVerifier(IOptions<AuthOptions> options)
    {
        var auth = options.Value;
        Mode = auth.Mode;
        var keys = SigningKeys(auth);
        HasKeys = keys.Count > 0;
        _parameters = new TokenValidationParameters
        {
            ValidAlgorithms = Algorithms,
            IssuerSigningKeys = keys,
            RequireSignedTokens = true,
            RequireExpirationTime = true,
            ValidateLifetime = true,
            ClockSkew = auth.ClockSkew,
            ValidateIssuer = auth.Issuer is not null,
            ValidIssuer = auth.Issuer,
            ValidateAudience = auth.Audience is not null,
            ValidAudience = auth.Audience,
        };
    }

    public AuthMode Mode { get; }

    /// <summary>Whether any key is configured: without one, every token is refused.</summary>
    public bool HasKeys { get; }

    /// <summary>The keys of the options, as the validator checked them at start (see <see cref="AuthOptionsValidator"/>).</summary>
    public static List<SecurityKey> SigningKeys(AuthOptions auth)
    {
        var keys = new List<SecurityKey>();
        foreach (var key in auth.SigningKeys)
        {
            // An empty entry is no key: a compose file passes a variable that is not set as empty.
            if (!string.IsNullOrEmpty(key))
            {
                keys.Add(new SymmetricSecurityKey(Encoding.UTF8.GetBytes(key)));
            }
        }

        if (!string.IsNullOrEmpty(auth.JwksFile))
        {
            keys.AddRange(new JsonWebKeySet(File.ReadAllText(auth.JwksFile)).GetSigningKeys());
        }

        return keys;
    }

    /// <summary>Checks <paramref name="token"/>: its identity, or why it was refused.</summary>
    public async Task<TokenCheck> VerifyAsync(string token)
    {
        if (!HasKeys)
        {
            return TokenCheck.Refused("no key configured");
        }

        if (Encoding.UTF8.GetByteCount(token) > MaxTokenBytes)
        {
            return TokenCheck.Refused("too large");
        }

        var result = await _handler.ValidateTokenAsync(token, _parameters);
        if (!result.IsValid || result.SecurityToken is not JsonWebToken jwt)
        {
            return TokenCheck.Refused(Reason(result.Exception));
        }

        return ReadClaims(jwt);
    }

    /// <summary>The claims PROTOCOL.md defines, each checked; a claim out of its rules refuses the token.</summary>
    private static TokenCheck ReadClaims(JsonWebToken jwt)
    {
        var user = jwt.TryGetPayloadValue<string>("sub", out var sub) ? sub : null;
        if (string.IsNullOrEmpty(user) || user.Length > MaxUserLength)
        {
            return TokenCheck.Refused("bad sub");
        }

        string? name = null;
        if (jwt.TryGetPayloadValue<string>("name", out var nameClaim) && !string.IsNullOrEmpty(nameClaim))
        {
            if (nameClaim.Length > MaxNameLength)
            {
                return TokenCheck.Refused("bad name");
            }

            name = nameClaim;
        }

        string[]? rooms = null;
        if (jwt.TryGetPayloadValue<string[]>("rooms", out var list) && list is not null)
        {
            if (Array.Exists(list, string.IsNullOrEmpty))
            {
                return TokenCheck.Refused("bad rooms");
            }

            rooms = list;
        }
        else if (HasClaim(jwt, "rooms"))
        {
            // Not a list of strings.
            return TokenCheck.Refused("bad rooms");
        }

        var role = jwt.TryGetPayloadValue<string>("role", out var roleClaim) ? roleClaim : null;
        if (role is not (null or ChatIdentity.Roles.Moderator or ChatIdentity.Roles.Admin or ChatIdentity.Roles.Publisher))
        {
            // An unknown role grants nothing; the token is still good for chatting.
            role = null;
        }

        return TokenCheck.Verified(new ChatIdentity(user, name, rooms, role, new DateTimeOffset(jwt.ValidTo, TimeSpan.Zero)));
    }

    private static bool HasClaim(JsonWebToken jwt, string type) => jwt.Claims.Any(claim => claim.Type == type);

    private static string Reason(Exception? exception) => exception switch
    {
        SecurityTokenExpiredException => "expired",
        SecurityTokenNotYetValidException => "not yet valid",
        SecurityTokenNoExpirationException => "no exp",
        SecurityTokenInvalidAlgorithmException => "algorithm",
        SecurityTokenInvalidIssuerException => "issuer",
        SecurityTokenInvalidAudienceException => "audience",
        SecurityTokenSignatureKeyNotFoundException or SecurityTokenInvalidSignatureException => "signature",
        SecurityTokenMalformedException or ArgumentException => "malformed",
        _ => "invalid",
    };
}

/// <summary>A token's check: the identity it proves, or the reason it was refused (for logs and metrics only).</summary>
public readonly record struct TokenCheck(ChatIdentity? Identity, string? Refusal)
{
    public static TokenCheck Verified(ChatIdentity identity) => new(identity, null);

    public static TokenCheck Refused(string reason) => new(null, reason);
}
