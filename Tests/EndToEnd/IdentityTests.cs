using System.Net.WebSockets;
using System.Text.Json;

namespace Chat.Orleans.Tests.EndToEnd;

/// <summary>
/// PROTOCOL.md, "Identity" and "Capabilities", over real sockets: a verified session's frames carry its
/// user everywhere a message travels, an anonymous one's never do, and every bad token is refused with
/// 1008.
/// </summary>
public sealed class IdentityTests(AuthCluster cluster) : IClassFixture<AuthCluster>
{
    private static string NewRoom() => "id-" + Guid.NewGuid().ToString("N")[..10];

    [Fact]
    public async Task A_verified_session_carries_its_user_live_in_history_on_resume_and_in_scrollback()
    {
        var room = NewRoom();
        await using var alice = await cluster.SignInAsync(room, new { name = "ignored", token = AuthCluster.Token("alice-id", "Alice") });
        Assert.Contains(alice.JoinFrames, f => TestChatClient.Str(f, "joined") == "Alice" && TestChatClient.Str(f, "user") == "alice-id");

        await using var bob = await cluster.SignInAsync(room, new { name = "bob" }, cluster.SecondGateway);
        var (_, bobJoined) = await alice.ExpectAsync(f => TestChatClient.Str(f, "joined") == "bob");
        Assert.False(bobJoined.TryGetProperty("user", out _));

        await alice.SendAsync(new { message = "verified words" });
        var (_, live) = await bob.ExpectMessageAsync("verified words");
        Assert.Equal(("Alice", "alice-id"), (TestChatClient.Str(live, "name"), TestChatClient.Str(live, "user")));
        await bob.SendAsync(new { message = "anonymous words" });
        var (_, anonymous) = await alice.ExpectMessageAsync("anonymous words");
        Assert.False(anonymous.TryGetProperty("user", out _));
        var timestamp = live.GetProperty("timestamp").GetInt64();

        // History on join, and resume.
        await using var carol = await cluster.SignInAsync(room, new { name = "carol" });
        Assert.Contains(carol.JoinFrames, f => TestChatClient.Str(f, "message") == "verified words" && TestChatClient.Str(f, "user") == "alice-id");
        await using var dave = await cluster.SignInAsync(room, new { name = "dave", since = timestamp - 1 });
        Assert.Contains(dave.JoinFrames, f => TestChatClient.Str(f, "message") == "verified words" && TestChatClient.Str(f, "user") == "alice-id");

        // Scrollback.
        var (status, body) = await cluster.CallAsync(HttpMethod.Get, $"/api/room/{room}/messages");
        Assert.Equal(200, status);
        var messages = JsonDocument.Parse(body).RootElement.GetProperty("messages").EnumerateArray().ToList();
        Assert.Equal("alice-id", TestChatClient.Str(messages.Single(m => TestChatClient.Str(m, "message") == "verified words"), "user"));
        Assert.False(messages.Single(m => TestChatClient.Str(m, "message") == "anonymous words").TryGetProperty("user", out _));
    }

    [Fact]
    public async Task A_session_that_asks_for_caps_gets_the_answer_right_before_ready_and_the_original_client_never_does()
    {
        var room = NewRoom();
        await using var withCaps = await cluster.SignInAsync(room, new { name = "ann", caps = new[] { "typing", "unknown-cap" } });
        Assert.Equal("""{"caps":["typing"]}""", withCaps.JoinFrames[^1].GetRawText());

        await using var original = await cluster.SignInAsync(room, new { name = "old" });
        Assert.DoesNotContain(original.JoinFrames, f => f.TryGetProperty("caps", out _) || f.TryGetProperty("user", out _));
    }

    [Theory]
    [InlineData("wrong key")]
    [InlineData("expired")]
    [InlineData("room not listed")]
    [InlineData("alg none")]
    [InlineData("not a token")]
    [InlineData("not a string")]
    public async Task A_bad_token_is_refused_with_1008_and_no_reason(string kind)
    {
        var room = NewRoom();
        object token = kind switch
        {
            "wrong key" => Gateway.Auth.TokenMinter.Mint("some-other-key-that-is-32-bytes-long!!", new("eve", null, null, null, TimeSpan.FromMinutes(5))),
            "expired" => AuthCluster.Token("eve", lifetime: TimeSpan.FromMinutes(-5)),
            "room not listed" => AuthCluster.Token("eve", rooms: ["elsewhere"]),
            "alg none" => "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJzdWIiOiJldmUiLCJleHAiOjQxMDI0NDQ4MDB9.",
            "not a token" => "hello",
            _ => 42,
        };
        await using var client = await TestChatClient.ConnectAsync(cluster.Gateway.WebSocketUri(room), ClientAddresses.New());
        await client.SendAsync(new { name = "eve", token });

        var (_, error) = await client.ExpectErrorAsync();
        Assert.Equal("Invalid token.", TestChatClient.Str(error, "error"));
        Assert.Equal(WebSocketCloseStatus.PolicyViolation, await client.WaitClosedAsync());
    }

    [Fact]
    public async Task A_name_frame_with_a_token_over_the_frame_limit_is_refused_as_too_large()
    {
        await using var client = await TestChatClient.ConnectAsync(cluster.Gateway.WebSocketUri(NewRoom()), ClientAddresses.New());
        await client.SendAsync(new { name = "eve", token = new string('x', 100 * 1024) });

        var (_, error) = await client.ExpectErrorAsync();
        Assert.Equal("Frame too large.", TestChatClient.Str(error, "error"));
        Assert.Equal(WebSocketCloseStatus.MessageTooBig, await client.WaitClosedAsync());
    }

    [Fact]
    public async Task In_required_mode_a_session_without_a_token_is_refused_and_one_with_a_token_joins()
    {
        // Stopped with the cluster.
        var required = await cluster.StartGatewayAsync(settings => settings["Chat:Auth:Mode"] = "required");
        var room = NewRoom();
        await using var anonymous = await TestChatClient.ConnectAsync(required.WebSocketUri(room), ClientAddresses.New());
        await anonymous.SendAsync(new { name = "anon" });
        var (_, error) = await anonymous.ExpectErrorAsync();
        Assert.Equal("Sign-in required.", TestChatClient.Str(error, "error"));
        Assert.Equal(WebSocketCloseStatus.PolicyViolation, await anonymous.WaitClosedAsync());

        await using var verified = await cluster.SignInAsync(room, new { name = "x", token = AuthCluster.Token("zed", "Zed") }, required);
        Assert.Contains(verified.JoinFrames, f => TestChatClient.Str(f, "joined") == "Zed");
    }

    [Fact]
    public async Task A_fresh_token_of_the_same_user_is_taken_and_one_of_another_user_closes_the_socket()
    {
        var room = NewRoom();
        await using var alice = await cluster.SignInAsync(room, new { name = "a", token = AuthCluster.Token("alice") });
        await alice.SendAsync(new { token = AuthCluster.Token("alice") });
        await alice.SendAsync(new { message = "still here" });
        await alice.ExpectMessageAsync("still here");

        await alice.SendAsync(new { token = AuthCluster.Token("mallory") });
        var (_, error) = await alice.ExpectErrorAsync();
        Assert.Equal("Invalid token.", TestChatClient.Str(error, "error"));
        Assert.Equal(WebSocketCloseStatus.PolicyViolation, await alice.WaitClosedAsync());
    }

    [Fact]
    public async Task A_session_whose_token_expires_is_closed_with_1008()
    {
        await using var client = await cluster.SignInAsync(NewRoom(), new { name = "brief", token = AuthCluster.Token("brief", lifetime: TimeSpan.FromSeconds(2)) });

        var (_, error) = await client.ExpectAsync(f => f.TryGetProperty("error", out _), TimeSpan.FromSeconds(20));
        Assert.Equal("Token expired.", TestChatClient.Str(error, "error"));
        Assert.Equal(WebSocketCloseStatus.PolicyViolation, await client.WaitClosedAsync());
    }
}
