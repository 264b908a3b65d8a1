using System.ComponentModel.DataAnnotations;

namespace Chat.Orleans.Gateway.Auth;

/// <summary>How sessions and HTTP callers prove who they are (PROTOCOL.md, "Identity"); section <c>Chat:Auth</c>.</summary>
public sealed class AuthOptions
{
    public const string Section = "Chat:Auth";

    /// <summary><c>open</c>: a token is optional (the original client works unchanged); <c>required</c>: no session without one.</summary>
    public AuthMode Mode { get; set; } = AuthMode.Open;

    /// <summary>HS256 keys, each a UTF-8 string of at least 32 bytes. Several at once let keys rotate: tokens signed with any are accepted.</summary>
    public string[] SigningKeys { get; set; } = [];

    /// <summary>A JSON Web Key Set file with the public keys of RS256 and ES256 tokens.</summary>
    public string? JwksFile { get; set; }

    /// <summary>When set, a token's <c>iss</c> must be this.</summary>
    public string? Issuer { get; set; }

    /// <summary>When set, a token's <c>aud</c> must include this.</summary>
    public string? Audience { get; set; }

    /// <summary>How far the clocks of the token's issuer and this gateway may differ.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:10:00")]
    public TimeSpan ClockSkew { get; set; } = TimeSpan.FromSeconds(30);
}

public enum AuthMode
{
    Open,
    Required,
}
