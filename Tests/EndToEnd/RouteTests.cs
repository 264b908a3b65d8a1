using System.Net;
using System.Text.RegularExpressions;

namespace Chat.Orleans.Tests.EndToEnd;

/// <summary>Every HTTP route of the protocol, with its status code and body.</summary>
public sealed class RouteTests(ChatCluster cluster) : IClassFixture<ChatCluster>
{
    private readonly HttpClient _http = new() { BaseAddress = cluster.Gateway.HttpUri };

    [Fact]
    public async Task Root_serves_the_chat_page_with_a_strict_content_security_policy()
    {
        var response = await _http.GetAsync("/");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/html;charset=UTF-8", response.Content.Headers.ContentType!.ToString().Replace(" ", ""));
        Assert.Contains("<html", await response.Content.ReadAsStringAsync());
        var policy = response.Headers.GetValues("Content-Security-Policy").Single();
        Assert.Contains("script-src 'self'", policy);
        Assert.DoesNotContain("unsafe-inline", policy);
    }

    [Fact]
    public async Task Post_to_room_mints_a_64_hex_id_with_open_cors()
    {
        var first = await _http.PostAsync("/api/room", null);
        var second = await _http.PostAsync("/api/room", null);

        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.Equal("*", first.Headers.GetValues("Access-Control-Allow-Origin").Single());
        var id = await first.Content.ReadAsStringAsync();
        Assert.Matches(new Regex("^[0-9a-f]{64}$"), id);
        Assert.NotEqual(id, await second.Content.ReadAsStringAsync());
    }

    [Theory]
    [InlineData("GET")]
    [InlineData("PUT")]
    [InlineData("DELETE")]
    public async Task Other_methods_on_room_are_not_allowed(string method)
    {
        var response = await _http.SendAsync(new HttpRequestMessage(new HttpMethod(method), "/api/room"));

        Assert.Equal(HttpStatusCode.MethodNotAllowed, response.StatusCode);
        Assert.Equal("Method not allowed", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Websocket_route_without_upgrade_is_a_bad_request()
    {
        var response = await _http.GetAsync("/api/room/lobby/websocket");

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("expected websocket", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Room_name_of_33_characters_is_too_long_but_32_is_fine()
    {
        var tooLong = await _http.GetAsync("/api/room/" + new string('a', 33) + "/websocket");
        var longest = await _http.GetAsync("/api/room/" + new string('a', 32) + "/websocket");

        Assert.Equal(HttpStatusCode.NotFound, tooLong.StatusCode);
        Assert.Equal("Name too long", await tooLong.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.BadRequest, longest.StatusCode);
    }

    [Fact]
    public async Task Health_and_Prometheus_metrics_are_served()
    {
        await using var client = await cluster.JoinAsync("metrics-" + Guid.NewGuid().ToString("N")[..8], "watcher", "10.70.0.1");
        await client.SendAsync(new { message = "counted" });
        await client.ExpectMessageAsync("counted");

        Assert.Equal(HttpStatusCode.OK, (await _http.GetAsync("/healthz")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await _http.GetAsync("/readyz")).StatusCode);
        var metrics = await _http.GetStringAsync("/metrics");
        Assert.Contains("chat_sockets_open", metrics);
        Assert.Contains("chat_frames_relayed", metrics);
        Assert.Contains("chat_broadcast_latency", metrics);
    }

    [Theory]
    [InlineData("/api/room/lobby/other")]
    [InlineData("/api/room/lobby")]
    [InlineData("/api/room/lobby/websocket/more")]
    [InlineData("/api/other")]
    [InlineData("/nothing-here")]
    public async Task Unknown_paths_are_not_found(string path)
    {
        var response = await _http.GetAsync(path);

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("Not found", await response.Content.ReadAsStringAsync());
    }
}
