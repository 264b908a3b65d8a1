using System.Net;
using System.Net.WebSockets;

namespace Chat.Orleans.Tests.EndToEnd;

/// <summary>
/// Per client address, before the upgrade: a cap on open sockets and on new sockets per second. Past
/// them, HTTP 429 with Retry-After; other addresses do not notice. Addresses come from X-Forwarded-For
/// (loopback is a trusted proxy by default).
/// </summary>
public sealed class ClientLimitTests(ChatCluster cluster) : IClassFixture<ChatCluster>
{
    private static readonly TimeSpan Quick = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task An_address_at_its_socket_cap_gets_429_and_other_addresses_still_connect()
    {
        await using var gateway = await cluster.StartGatewayAsync(settings =>
        {
            settings["Chat:Gateway:MaxSocketsPerIp"] = "3";
            settings["Chat:Gateway:JoinsPerIpPerSecond"] = "0";
        });
        var room = NewRoom();
        var crowded = ClientAddresses.New();
        var held = new List<TestChatClient>();
        try
        {
            foreach (var name in new[] { "a", "b", "c" })
            {
                var member = await TestChatClient.ConnectAsync(gateway.WebSocketUri(room), crowded);
                held.Add(member);
                await member.JoinAsync(name);
            }

            var (status, retryAfter) = await TryConnectAsync(gateway.WebSocketUri(room), crowded);
            Assert.Equal(HttpStatusCode.TooManyRequests, status);
            Assert.True(retryAfter >= 1, $"Retry-After: {retryAfter}");

            // Another address is not affected, and the three sockets still chat.
            await using var other = await TestChatClient.ConnectAsync(gateway.WebSocketUri(room), ClientAddresses.New());
            await other.JoinAsync("other");
            await held[0].SendAsync(new { message = "still here" });
            await other.ExpectMessageAsync("still here");

            // A socket that closes frees its place for the same address.
            await held[2].DisposeAsync();
            held.RemoveAt(2);
            await Poll.UntilAsync(async () => (await TryConnectAsync(gateway.WebSocketUri(room), crowded)).Status == HttpStatusCode.SwitchingProtocols, Quick);
        }
        finally
        {
            foreach (var member in held)
            {
                await member.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task An_address_past_its_join_burst_gets_429_with_Retry_After_and_is_let_in_again_later()
    {
        await using var gateway = await cluster.StartGatewayAsync(settings =>
        {
            settings["Chat:Gateway:JoinsPerIpPerSecond"] = "1";
            settings["Chat:Gateway:JoinBurstPerIp"] = "2";
        });
        var room = NewRoom();
        var hasty = ClientAddresses.New();

        Assert.Equal(HttpStatusCode.SwitchingProtocols, (await TryConnectAsync(gateway.WebSocketUri(room), hasty)).Status);
        Assert.Equal(HttpStatusCode.SwitchingProtocols, (await TryConnectAsync(gateway.WebSocketUri(room), hasty)).Status);
        var (status, retryAfter) = await TryConnectAsync(gateway.WebSocketUri(room), hasty);
        Assert.Equal(HttpStatusCode.TooManyRequests, status);
        Assert.True(retryAfter >= 1, $"Retry-After: {retryAfter}");

        Assert.Equal(HttpStatusCode.SwitchingProtocols, (await TryConnectAsync(gateway.WebSocketUri(room), ClientAddresses.New())).Status);

        // The bucket refills at one per second.
        await Poll.UntilAsync(async () => (await TryConnectAsync(gateway.WebSocketUri(room), hasty)).Status == HttpStatusCode.SwitchingProtocols, Quick);
    }

    /// <summary>Opens a socket and closes it again; returns the HTTP status of the upgrade and its Retry-After in seconds.</summary>
    private static async Task<(HttpStatusCode? Status, int? RetryAfter)> TryConnectAsync(Uri uri, string address)
    {
        using var socket = new ClientWebSocket();
        socket.Options.CollectHttpResponseDetails = true;
        socket.Options.SetRequestHeader("X-Forwarded-For", address);
        using var timeout = new CancellationTokenSource(Quick);
        try
        {
            await socket.ConnectAsync(uri, timeout.Token);
            socket.Abort();
            return (HttpStatusCode.SwitchingProtocols, null);
        }
        catch (WebSocketException)
        {
            var retryAfter = socket.HttpResponseHeaders?.FirstOrDefault(h => h.Key.Equals("Retry-After", StringComparison.OrdinalIgnoreCase)).Value?.FirstOrDefault();
            return (socket.HttpStatusCode, int.TryParse(retryAfter, out var seconds) ? seconds : null);
        }
    }

    private static string NewRoom() => "limits-" + Guid.NewGuid().ToString("N")[..24];
}
