using System.Net;
using System.Text.Json;

namespace Chat.Orleans.Tests.EndToEnd;

/// <summary>
/// PROTOCOL.md, "Scrollback": <c>GET /api/room/&lt;name&gt;/messages?before=&amp;limit=</c> pages back through
/// a room's stored messages, newest first page, each page oldest first.
/// </summary>
public sealed class ScrollbackTests(ChatCluster cluster) : IClassFixture<ChatCluster>
{
    [Fact]
    public async Task Paging_back_through_1000_stored_messages_gives_each_once_in_order()
    {
        var room = NewRoom();
        await cluster.Postgres.ScalarAsync<long>(
            "WITH added AS (INSERT INTO chat_messages (room, timestamp_ms, name, message) " +
            "SELECT $1, 1000000 + g, 'ann', 'message ' || g FROM generate_series(1, 1000) AS g RETURNING 1) SELECT count(*) FROM added",
            room);

        var seen = new List<long>();
        string? before = null;
        while (true)
        {
            var page = await GetMessagesAsync(room, before is null ? "" : $"?before={before}");
            if (page.Count == 0)
            {
                break;
            }

            Assert.True(page.Count <= 100);
            seen.InsertRange(0, page.Select(m => m.GetProperty("timestamp").GetInt64()));
            before = page[0].GetProperty("timestamp").GetInt64().ToString();
        }

        Assert.Equal(Enumerable.Range(1, 1000).Select(i => 1000000L + i), seen);

        var small = await GetMessagesAsync(room, "?before=1000011&limit=3");
        Assert.Equal(new[] { "message 8", "message 9", "message 10" }, small.Select(m => m.GetProperty("message").GetString()));
        Assert.Equal(["name", "message", "timestamp"], small[0].EnumerateObject().Select(p => p.Name));
    }

    [Fact]
    public async Task A_message_posted_with_an_id_comes_back_with_it()
    {
        var room = NewRoom();
        await using (var alice = await cluster.JoinAsync(room, "alice", ClientAddresses.New()))
        {
            await alice.SendAsync(new { message = "with id", id = "sb-1" });
            await alice.ExpectMessageAsync("with id");
        }

        var page = await GetMessagesAsync(room, "");
        Assert.Equal("sb-1", Assert.Single(page).GetProperty("id").GetString());
    }

    [Fact]
    public async Task Empty_rooms_and_pages_before_everything_are_empty_lists()
    {
        Assert.Empty(await GetMessagesAsync(NewRoom(), ""));
        Assert.Empty(await GetMessagesAsync(NewRoom(), "?before=0"));

        using var http = new HttpClient { BaseAddress = cluster.Gateway.HttpUri };
        var created = await (await http.PostAsync("/api/room", null)).Content.ReadAsStringAsync();
        Assert.Empty(await GetMessagesAsync(created, ""));
    }

    [Theory]
    [InlineData("?before=-1")]
    [InlineData("?before=soon")]
    [InlineData("?before=99999999999999999999")]
    [InlineData("?limit=0")]
    [InlineData("?limit=101")]
    [InlineData("?limit=ten")]
    public async Task Bad_parameters_get_400_with_a_one_line_reason(string query)
    {
        using var http = new HttpClient { BaseAddress = cluster.Gateway.HttpUri };
        var response = await http.GetAsync($"/api/room/{NewRoom()}/messages{query}");
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var reason = await response.Content.ReadAsStringAsync();
        Assert.False(string.IsNullOrWhiteSpace(reason));
        Assert.DoesNotContain('\n', reason);
    }

    [Fact]
    public async Task Rooms_the_socket_route_refuses_are_404_here_too()
    {
        using var http = new HttpClient { BaseAddress = cluster.Gateway.HttpUri };
        Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync($"/api/room/{new string('x', 33)}/messages")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync($"/api/room/{new string('a', 64)}/messages")).StatusCode);
    }

    [Fact]
    public async Task An_address_past_its_scrollback_rate_gets_429_and_others_do_not()
    {
        await using var gateway = await cluster.StartGatewayAsync(settings =>
        {
            settings["Chat:Gateway:ScrollbackPerIpPerSecond"] = "1";
            settings["Chat:Gateway:ScrollbackBurstPerIp"] = "2";
        });
        using var http = new HttpClient { BaseAddress = gateway.HttpUri };
        var room = NewRoom();
        var hasty = ClientAddresses.New();

        Assert.Equal(HttpStatusCode.OK, (await GetAsync(http, room, hasty)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await GetAsync(http, room, hasty)).StatusCode);
        var refused = await GetAsync(http, room, hasty);
        Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
        Assert.True(refused.Headers.RetryAfter?.Delta >= TimeSpan.FromSeconds(1));
        Assert.Equal(HttpStatusCode.OK, (await GetAsync(http, room, ClientAddresses.New())).StatusCode);
    }

    private static async Task<HttpResponseMessage> GetAsync(HttpClient http, string room, string address)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/api/room/{room}/messages");
        request.Headers.Add("X-Forwarded-For", address);
        return await http.SendAsync(request);
    }

    private async Task<List<JsonElement>> GetMessagesAsync(string room, string query)
    {
        using var http = new HttpClient { BaseAddress = cluster.Gateway.HttpUri };
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/api/room/{room}/messages{query}");
        request.Headers.Add("X-Forwarded-For", ClientAddresses.New());
        var response = await http.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return [.. body.RootElement.GetProperty("messages").EnumerateArray().Select(m => m.Clone())];
    }

    private static string NewRoom() => "scroll-" + Guid.NewGuid().ToString("N")[..24];
}
