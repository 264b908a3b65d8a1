namespace Chat.Orleans.Tests.EndToEnd;

/// <summary>The per-IP limit (5 s per message, 20 s grace), shared across rooms, and whose address counts.</summary>
public sealed class RateLimitTests(ChatCluster cluster) : IClassFixture<ChatCluster>
{
    private const string RateLimited = "Your IP is being rate-limited, please try again later.";

    private static string NewRoom() => "rl-" + Guid.NewGuid().ToString("N")[..10];

    [Fact]
    public async Task A_burst_of_five_passes_then_the_limit_holds_across_rooms_for_that_address_only()
    {
        var address = ClientAddresses.New();
        await using var first = await cluster.JoinAsync(NewRoom(), "burst", address);
        for (var i = 0; i < 5; i++)
        {
            await first.SendAsync(new { message = $"burst {i}" });
            await first.ExpectMessageAsync($"burst {i}");
        }

        await first.SendAsync(new { message = "one too many" });
        var (_, error) = await first.ExpectErrorAsync();
        Assert.Equal(RateLimited, TestChatClient.Str(error, "error"));

        // Same address in another room: still limited. Another address in that room: free.
        var otherRoom = NewRoom();
        await using var sameAddress = await cluster.JoinAsync(otherRoom, "same", address);
        await using var otherAddress = await cluster.JoinAsync(otherRoom, "other", ClientAddresses.New());
        await sameAddress.SendAsync(new { message = "hopping rooms" });
        Assert.Equal(RateLimited, TestChatClient.Str((await sameAddress.ExpectErrorAsync()).Match, "error"));
        await otherAddress.SendAsync(new { message = "someone else" });
        await sameAddress.ExpectMessageAsync("someone else");

        Assert.DoesNotContain(sameAddress.Received, f => TestChatClient.Str(f, "message") is "hopping rooms" or "one too many");
    }

    [Fact]
    public async Task CF_Connecting_IP_from_a_trusted_proxy_names_the_client()
    {
        var room = NewRoom();
        var address = ClientAddresses.New();
        var headers = new Dictionary<string, string> { ["CF-Connecting-IP"] = address };
        await using var first = await TestChatClient.ConnectAsync(cluster.Gateway.WebSocketUri(room), forwardedFor: ClientAddresses.New(), headers: headers);
        await first.JoinAsync("cf");
        await ExhaustAsync(first);

        // A different X-Forwarded-For does not help: CF-Connecting-IP wins, as in the original.
        await using var second = await TestChatClient.ConnectAsync(cluster.Gateway.WebSocketUri(room), forwardedFor: ClientAddresses.New(), headers: headers);
        await second.JoinAsync("cf2");
        await second.SendAsync(new { message = "still me" });
        Assert.Equal(RateLimited, TestChatClient.Str((await second.ExpectErrorAsync()).Match, "error"));
    }

    [Fact]
    public async Task Forwarded_headers_from_an_untrusted_peer_are_ignored()
    {
        var untrusted = await cluster.StartGatewayAsync(settings => settings["Chat:Gateway:TrustLoopback"] = "false");
        var room = NewRoom();
        await using var first = await TestChatClient.ConnectAsync(untrusted.WebSocketUri(room), forwardedFor: ClientAddresses.New());
        await first.JoinAsync("spoofer");
        await ExhaustAsync(first);

        // Claiming another address changes nothing: the limit follows the real peer (loopback).
        await using var second = await TestChatClient.ConnectAsync(untrusted.WebSocketUri(room), forwardedFor: ClientAddresses.New(), headers: new Dictionary<string, string> { ["CF-Connecting-IP"] = ClientAddresses.New() });
        await second.JoinAsync("spoofer2");
        await second.SendAsync(new { message = "new identity" });
        Assert.Equal(RateLimited, TestChatClient.Str((await second.ExpectErrorAsync()).Match, "error"));
    }

    private static async Task ExhaustAsync(TestChatClient client)
    {
        for (var i = 0; i < 5; i++)
        {
            await client.SendAsync(new { message = $"spend {i}" });
            await client.ExpectMessageAsync($"spend {i}");
        }

        await client.SendAsync(new { message = "over" });
        Assert.Equal(RateLimited, TestChatClient.Str((await client.ExpectErrorAsync()).Match, "error"));
    }
}
