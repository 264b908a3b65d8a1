using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Chat.Orleans.Gateway.Auth;

namespace Chat.Orleans.Tests.Infrastructure;

/// <summary>
/// A chat service with a signing key (PROTOCOL.md, "Identity"), two gateways, and helpers to mint tokens,
/// sign in over the socket and call the moderation API.
/// </summary>
public sealed class AuthCluster : ChatCluster
{
    public const string SigningKey = "the-tests-signing-key-of-32-bytes-or-more";

    public ChatGateway SecondGateway { get; private set; } = null!;

    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        SecondGateway = await StartGatewayAsync();
    }

    public static string Token(string user, string? name = null, string? role = null, string[]? rooms = null, TimeSpan? lifetime = null) =>
        TokenMinter.Mint(SigningKey, new TokenRequest(user, name, role, rooms, lifetime ?? TimeSpan.FromMinutes(10)));

    /// <summary>Connects and joins with <paramref name="nameFrame"/> (its frames up to <c>ready</c> are in <see cref="TestChatClient.JoinFrames"/>).</summary>
    public async Task<TestChatClient> SignInAsync(string room, object nameFrame, ChatGateway? gateway = null, string? address = null)
    {
        var client = await TestChatClient.ConnectAsync((gateway ?? Gateway).WebSocketUri(room), address ?? ClientAddresses.New());
        await client.JoinAsync(nameFrame);
        return client;
    }

    /// <summary>An HTTP call to the gateway, with a bearer token and a JSON body when given.</summary>
    public async Task<(int Status, string Body)> CallAsync(HttpMethod method, string path, string? token = null, object? body = null, ChatGateway? gateway = null)
    {
        using var http = new HttpClient { BaseAddress = (gateway ?? Gateway).HttpUri };
        using var request = new HttpRequestMessage(method, path);
        if (token is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        if (body is not null)
        {
            request.Content = new StringContent(JsonSerializer.Serialize(body), Encoding.UTF8, "application/json");
        }

        using var response = await http.SendAsync(request);
        return ((int)response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    protected override void ConfigureGateway(IDictionary<string, string?> settings)
    {
        settings["Chat:Auth:SigningKeys:0"] = SigningKey;

        // These tests are about who may do what, not about the limiter.
        settings["Chat:Gateway:RateLimitEnabled"] = "false";
    }
}
