using System.Security.Cryptography;
using System.Text;
using Chat.Orleans.Gateway.Auth;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Chat.Orleans.Tests.Fast;

/// <summary>PROTOCOL.md, "Identity": which tokens a gateway accepts, and what they say. No socket, no database.</summary>
[Trait("Category", "Fast")]
public sealed class TokenRulesTests
{
    private const string Key = "a-test-signing-key-of-at-least-32-bytes";
    private const string OtherKey = "another-signing-key-of-at-least-32-bytes";

    private static readonly TokenRequest Alice = new("alice", "Alice", ChatIdentity.Roles.Moderator, ["lobby"], TimeSpan.FromMinutes(5));

    [Fact]
    public async Task A_good_token_gives_its_claims()
    {
        var check = await Verifier().VerifyAsync(TokenMinter.Mint(Key, Alice));

        Assert.Null(check.Refusal);
        Assert.Equal(("alice", "Alice", ChatIdentity.Roles.Moderator), (check.Identity!.User, check.Identity.Name, check.Identity.Role));
        Assert.Equal(["lobby"], check.Identity.Rooms!);
        Assert.InRange(check.Identity.Expires, DateTimeOffset.UtcNow.AddMinutes(4), DateTimeOffset.UtcNow.AddMinutes(6));
    }

    [Fact]
    public async Task Any_of_several_keys_is_accepted_so_that_keys_can_rotate()
    {
        var verifier = Verifier(new AuthOptions { SigningKeys = [OtherKey, Key] });

        Assert.NotNull((await verifier.VerifyAsync(TokenMinter.Mint(Key, Alice))).Identity);
        Assert.NotNull((await verifier.VerifyAsync(TokenMinter.Mint(OtherKey, Alice))).Identity);
    }

    [Fact]
    public async Task A_token_signed_with_another_key_is_refused() =>
        Assert.Equal("signature", (await Verifier().VerifyAsync(TokenMinter.Mint(OtherKey, Alice))).Refusal);

    [Fact]
    public async Task An_unsigned_token_alg_none_is_refused()
    {
        var unsigned = Base64Url("""{"alg":"none","typ":"JWT"}""") + "." + Base64Url(Payload("alice", Expires(5))) + ".";

        Assert.Null((await Verifier().VerifyAsync(unsigned)).Identity);
    }

    [Fact]
    public async Task A_tampered_payload_is_refused()
    {
        var parts = TokenMinter.Mint(Key, Alice with { Role = null }).Split('.');
        var tampered = $"{parts[0]}.{Base64Url(Payload("alice", Expires(5), role: "admin"))}.{parts[2]}";

        Assert.Equal("signature", (await Verifier().VerifyAsync(tampered)).Refusal);
    }

    [Fact]
    public async Task An_expired_token_is_refused_beyond_the_clock_skew()
    {
        var verifier = Verifier(new AuthOptions { SigningKeys = [Key], ClockSkew = TimeSpan.FromSeconds(30) });

        Assert.Equal("expired", (await verifier.VerifyAsync(Signed(Payload("alice", Expires(-1))))).Refusal);
        Assert.NotNull((await verifier.VerifyAsync(Signed(Payload("alice", DateTimeOffset.UtcNow.AddSeconds(-10).ToUnixTimeSeconds())))).Identity);
    }

    [Fact]
    public async Task A_token_not_yet_valid_is_refused() =>
        Assert.Equal("not yet valid", (await Verifier().VerifyAsync(Signed(Payload("alice", Expires(10), notBefore: Expires(5))))).Refusal);

    [Fact]
    public async Task A_token_without_exp_is_refused() =>
        Assert.Null((await Verifier().VerifyAsync(Signed("""{"sub":"alice"}"""))).Identity);

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    public async Task A_token_without_a_sub_is_refused(string? sub) =>
        Assert.Equal("bad sub", (await Verifier().VerifyAsync(Signed(Payload(sub, Expires(5))))).Refusal);

    [Fact]
    public async Task A_sub_of_64_characters_passes_and_one_of_65_is_refused()
    {
        Assert.NotNull((await Verifier().VerifyAsync(Signed(Payload(new string('u', 64), Expires(5))))).Identity);
        Assert.Equal("bad sub", (await Verifier().VerifyAsync(Signed(Payload(new string('u', 65), Expires(5))))).Refusal);
    }

    [Fact]
    public async Task A_name_claim_over_32_characters_is_refused() =>
        Assert.Equal("bad name", (await Verifier().VerifyAsync(TokenMinter.Mint(Key, Alice with { Name = new string('n', 33) }))).Refusal);

    [Fact]
    public async Task A_token_of_100_KB_is_refused_before_it_is_parsed()
    {
        var huge = TokenMinter.Mint(Key, Alice with { Name = null, Rooms = [new string('r', 100 * 1024)] });

        Assert.Equal("too large", (await Verifier().VerifyAsync(huge)).Refusal);
    }

    [Fact]
    public async Task Issuer_and_audience_are_checked_when_configured()
    {
        var verifier = Verifier(new AuthOptions { SigningKeys = [Key], Issuer = "https://auth.example", Audience = "chat" });

        Assert.NotNull((await verifier.VerifyAsync(TokenMinter.Mint(Key, Alice with { Issuer = "https://auth.example", Audience = "chat" }))).Identity);
        Assert.Equal("issuer", (await verifier.VerifyAsync(TokenMinter.Mint(Key, Alice with { Issuer = "https://evil.example", Audience = "chat" }))).Refusal);
        Assert.Equal("audience", (await verifier.VerifyAsync(TokenMinter.Mint(Key, Alice with { Issuer = "https://auth.example", Audience = "other" }))).Refusal);
    }

    [Fact]
    public async Task RS256_and_ES256_tokens_are_checked_with_the_keys_of_the_JWKS_file()
    {
        using var rsa = RSA.Create(2048);
        using var ec = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var rsaKey = new RsaSecurityKey(rsa) { KeyId = "rsa-1" };
        var ecKey = new ECDsaSecurityKey(ec) { KeyId = "ec-1" };
        var jwks = Path.GetTempFileName();
        try
        {
            var set = new { keys = new[] { PublicJwk(JsonWebKeyConverter.ConvertFromRSASecurityKey(rsaKey)), PublicJwk(JsonWebKeyConverter.ConvertFromECDsaSecurityKey(ecKey)) } };
            await File.WriteAllTextAsync(jwks, System.Text.Json.JsonSerializer.Serialize(set));
            var verifier = Verifier(new AuthOptions { JwksFile = jwks });

            Assert.Equal("bob", (await verifier.VerifyAsync(SignedWith(new SigningCredentials(rsaKey, SecurityAlgorithms.RsaSha256), "bob"))).Identity?.User);
            Assert.Equal("eve", (await verifier.VerifyAsync(SignedWith(new SigningCredentials(ecKey, SecurityAlgorithms.EcdsaSha256), "eve"))).Identity?.User);
            Assert.Null((await verifier.VerifyAsync(TokenMinter.Mint(Key, Alice))).Identity);
        }
        finally
        {
            File.Delete(jwks);
        }
    }

    [Fact]
    public void A_short_signing_key_fails_the_start_with_its_name()
    {
        var result = new AuthOptionsValidator().Validate(null, new AuthOptions { SigningKeys = [Key, "too short"] });

        Assert.True(result.Failed);
        Assert.Contains("Chat:Auth:SigningKeys:1", result.FailureMessage);
    }

    [Fact]
    public void A_JWKS_file_that_cannot_be_read_fails_the_start_with_its_name()
    {
        var result = new AuthOptionsValidator().Validate(null, new AuthOptions { JwksFile = "/nonexistent/keys.json" });

        Assert.True(result.Failed);
        Assert.Contains("Chat:Auth:JwksFile", result.FailureMessage);
    }

    [Fact]
    public void Required_mode_without_any_key_fails_the_start()
    {
        Assert.True(new AuthOptionsValidator().Validate(null, new AuthOptions { Mode = AuthMode.Required }).Failed);
        Assert.True(new AuthOptionsValidator().Validate(null, new AuthOptions { Mode = AuthMode.Required, SigningKeys = [Key] }).Succeeded);
    }

    private static TokenVerifier Verifier(AuthOptions? options = null) => new(Options.Create(options ?? new AuthOptions { SigningKeys = [Key] }));

    private static long Expires(int minutes) => DateTimeOffset.UtcNow.AddMinutes(minutes).ToUnixTimeSeconds();

    private static string Payload(string? sub, long exp, long? notBefore = null, string? role = null)
    {
        var claims = new Dictionary<string, object> { ["exp"] = exp };
        if (sub is not null)
        {
            claims["sub"] = sub;
        }

        if (notBefore is { } nbf)
        {
            claims["nbf"] = nbf;
        }

        if (role is not null)
        {
            claims["role"] = role;
        }

        return System.Text.Json.JsonSerializer.Serialize(claims);
    }

    /// <summary>A payload exactly as given, signed with <see cref="Key"/>.</summary>
    private static string Signed(string payload)
    {
        var signingInput = Base64Url("""{"alg":"HS256","typ":"JWT"}""") + "." + Base64Url(payload);
        var signature = HMACSHA256.HashData(Encoding.UTF8.GetBytes(Key), Encoding.ASCII.GetBytes(signingInput));
        return signingInput + "." + Base64UrlEncoder.Encode(signature);
    }

    private static string SignedWith(SigningCredentials credentials, string user) =>
        new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
        {
            Claims = new Dictionary<string, object> { ["sub"] = user },
            Expires = DateTime.UtcNow.AddMinutes(5),
            SigningCredentials = credentials,
        });

    private static Dictionary<string, string> PublicJwk(JsonWebKey key)
    {
        var jwk = new Dictionary<string, string> { ["kty"] = key.Kty, ["kid"] = key.Kid, ["use"] = "sig" };
        foreach (var (name, value) in new[] { ("n", key.N), ("e", key.E), ("crv", key.Crv), ("x", key.X), ("y", key.Y) })
        {
            if (value is not null)
            {
                jwk[name] = value;
            }
        }

        return jwk;
    }

    private static string Base64Url(string json) => Base64UrlEncoder.Encode(Encoding.UTF8.GetBytes(json));
}
