using System.Net.WebSockets;

namespace Chat.Orleans.Tests.EndToEnd;

/// <summary>Private rooms: unguessable ids the server can verify, accepted by every gateway, refused when forged.</summary>
public sealed class PrivateRoomTests(ChatCluster cluster) : IClassFixture<ChatCluster>
{
    private async Task<string> MintAsync(ChatGateway gateway)
    {
        using var http = new HttpClient { BaseAddress = gateway.HttpUri };
        var response = await http.PostAsync("/api/room", null);
        response.EnsureSuccessStatusCode();
        return await response.Content.ReadAsStringAsync();
    }

    [Fact]
    public async Task A_minted_room_works_on_every_gateway_and_stays_private()
    {
        var id = await MintAsync(cluster.Gateway);
        var otherGateway = await cluster.StartGatewayAsync();

        await using var host = await cluster.JoinAsync(id, "host", "10.9.0.1");
        await using var guest = await TestChatClient.ConnectAsync(otherGateway.WebSocketUri(id), "10.9.0.2");
        await guest.JoinAsync("guest");
        await using var outsider = await cluster.JoinAsync("lobby-" + Guid.NewGuid().ToString("N")[..8], "outsider", "10.9.0.3");

        await host.SendAsync(new { message = "secret plans" });
        await guest.ExpectMessageAsync("secret plans");
        await host.ExpectMessageAsync("secret plans");
        await outsider.SendAsync(new { message = "anyone?" });
        await outsider.ExpectMessageAsync("anyone?");

        Assert.DoesNotContain(outsider.Received, f => TestChatClient.Str(f, "message") == "secret plans");
    }

    [Fact]
    public async Task A_forged_id_gets_an_error_frame_and_close_1011()
    {
        var minted = await MintAsync(cluster.Gateway);
        var forged = (minted[0] == '0' ? '1' : '0') + minted[1..];

        await using var client = await cluster.ConnectAsync(forged);
        var (_, error) = await client.ExpectErrorAsync();

        Assert.Equal("Unknown private room.", TestChatClient.Str(error, "error"));
        Assert.Equal(WebSocketCloseStatus.InternalServerError, await client.WaitClosedAsync());
    }

    [Fact]
    public async Task Ids_minted_by_a_restarted_gateway_still_verify_because_the_key_is_shared()
    {
        var gateway = await cluster.StartGatewayAsync();
        var id = await MintAsync(gateway);
        await gateway.StopAsync();

        var fresh = await cluster.StartGatewayAsync();
        await using var client = await TestChatClient.ConnectAsync(fresh.WebSocketUri(id), "10.9.0.4");
        var frames = await client.JoinAsync("returning");

        Assert.DoesNotContain(frames, f => f.TryGetProperty("error", out _));
    }
}
