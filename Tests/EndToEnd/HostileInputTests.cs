using System.Diagnostics;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;

namespace Chat.Orleans.Tests.EndToEnd;

/// <summary>
/// Whatever a client sends, and however it behaves (never reads, never names itself, goes silent,
/// comes from a foreign page), it gets a defined answer: an error frame and/or a close with a proper
/// code. The socket survives what the protocol says it survives, and nobody else notices.
/// </summary>
public sealed class HostileInputTests(ChatCluster cluster) : IClassFixture<ChatCluster>
{
    private static readonly TimeSpan Quick = TimeSpan.FromSeconds(10);
    private static int s_lastAddress;

    // --- frames that are not what the protocol expects: an error, and the socket lives ---

    [Theory]
    [InlineData("hello there")]
    [InlineData("")]
    [InlineData("{\"message\": \"unterminated")]
    [InlineData("{\"message\": \"trailing\"} garbage")]
    [InlineData("{'message': 'single quotes'}")]
    public async Task Non_json_frame_after_the_name_gets_an_error_and_the_socket_stays_open(string frame)
    {
        var room = NewRoom();
        await using var client = await JoinAsync(room, "alice");

        await client.SendTextAsync(frame);

        await AssertErrorAsync(client, "Frames must be JSON objects.");
        await AssertStillRelaysAsync(client);
    }

    [Fact]
    public async Task Non_json_first_frame_gets_an_error_and_the_client_can_still_name_itself()
    {
        var room = NewRoom();
        await using var client = await cluster.ConnectAsync(room, NextAddress());

        await client.SendTextAsync("hello, I am alice");

        await AssertErrorAsync(client, "Frames must be JSON objects.");
        var joining = await client.JoinAsync("alice");
        Assert.Contains(joining, f => TestChatClient.Str(f, "joined") == "alice");
        var echo = await AssertStillRelaysAsync(client);
        Assert.Equal("alice", TestChatClient.Str(echo, "name"));
    }

    [Theory]
    [InlineData("[1]")]
    [InlineData("\"x\"")]
    [InlineData("42")]
    [InlineData("null")]
    [InlineData("[{\"message\": \"in an array\"}]")]
    public async Task Json_that_is_not_an_object_gets_an_error_and_the_socket_stays_open(string frame)
    {
        var room = NewRoom();
        await using var client = await JoinAsync(room, "alice");

        await client.SendTextAsync(frame);

        var before = await AssertErrorAsync(client, "Frames must be JSON objects.");
        Assert.Empty(before);
        await AssertStillRelaysAsync(client);
    }

    [Theory]
    [InlineData("[1]")]
    [InlineData("\"x\"")]
    [InlineData("42")]
    public async Task Json_that_is_not_an_object_as_first_frame_gets_an_error_and_the_socket_stays_open(string frame)
    {
        var room = NewRoom();
        await using var client = await cluster.ConnectAsync(room, NextAddress());

        await client.SendTextAsync(frame);

        await AssertErrorAsync(client, "Frames must be JSON objects.");
        await client.JoinAsync("alice");
        await AssertStillRelaysAsync(client);
    }

    [Theory]
    [InlineData("{\"message\": 5}")]
    [InlineData("{\"message\": true}")]
    [InlineData("{\"message\": null}")]
    [InlineData("{\"message\": [\"x\"]}")]
    [InlineData("{\"message\": {\"text\": \"x\"}}")]
    [InlineData("{}")]
    [InlineData("{\"text\": \"no message property\"}")]
    public async Task Message_that_is_not_a_string_gets_an_error_and_the_socket_stays_open(string frame)
    {
        var room = NewRoom();
        await using var client = await JoinAsync(room, "alice");

        await client.SendTextAsync(frame);

        var before = await AssertErrorAsync(client, "Message must be a string.");
        Assert.Empty(before);
        var (relayedBefore, _) = await SendAndExpectAsync(client, "still here");
        Assert.DoesNotContain(relayedBefore, f => f.TryGetProperty("message", out _));
    }

    [Fact]
    public async Task Name_that_is_not_a_string_gets_an_error_and_the_client_can_still_name_itself()
    {
        var room = NewRoom();
        await using var client = await cluster.ConnectAsync(room, NextAddress());

        await client.SendTextAsync("{\"name\": 5}");

        await AssertErrorAsync(client, "Name must be a string.");
        var joining = await client.JoinAsync("alice");
        Assert.Contains(joining, f => TestChatClient.Str(f, "joined") == "alice");
        await AssertStillRelaysAsync(client);
    }

    // --- length limits ---

    [Fact]
    public async Task Message_of_256_characters_is_relayed_and_257_is_refused_with_the_socket_open()
    {
        var room = NewRoom();
        await using var client = await JoinAsync(room, "alice");
        await using var other = await JoinAsync(room, "bob");
        var longest = new string('€', 128) + new string('a', 128);
        var tooLong = new string('a', 257);

        await client.SendAsync(new { message = longest });
        var (_, relayed) = await client.ExpectMessageAsync(longest);
        await other.ExpectMessageAsync(longest);
        Assert.Equal(256, TestChatClient.Str(relayed, "message")!.Length);

        await client.SendAsync(new { message = tooLong });
        var before = await AssertErrorAsync(client, "Message too long.");
        Assert.DoesNotContain(before, f => TestChatClient.Str(f, "message") == tooLong);

        // Still open; and the refused message reached nobody (the room would have relayed it first).
        var (clientBefore, _) = await SendAndExpectAsync(client, "after the long one");
        var (otherBefore, _) = await other.ExpectMessageAsync("after the long one");
        Assert.DoesNotContain(clientBefore, f => TestChatClient.Str(f, "message") == tooLong);
        Assert.DoesNotContain(otherBefore, f => TestChatClient.Str(f, "message") == tooLong);
        Assert.DoesNotContain(other.Received, f => TestChatClient.Str(f, "error") is not null);
    }

    [Fact]
    public async Task Name_of_32_characters_joins()
    {
        var room = NewRoom();
        var name = new string('€', 16) + new string('n', 16);
        await using var client = await cluster.ConnectAsync(room, NextAddress());

        var joining = await client.JoinAsync(name);

        Assert.Equal(name, TestChatClient.Str(Assert.Single(joining, f => f.TryGetProperty("joined", out _)), "joined"));
        var echo = await AssertStillRelaysAsync(client);
        Assert.Equal(name, TestChatClient.Str(echo, "name"));
    }

    [Fact]
    public async Task Name_of_33_characters_gets_an_error_and_close_1009_and_never_joins()
    {
        var room = NewRoom();
        await using var watcher = await JoinAsync(room, "watcher");
        await using var client = await cluster.ConnectAsync(room, NextAddress());

        await client.SendAsync(new { name = new string('n', 33) });

        var before = await AssertErrorAsync(client, "Name too long.");
        Assert.Empty(before);
        Assert.Equal(WebSocketCloseStatus.MessageTooBig, await client.WaitClosedAsync());

        // The room never heard of it: the next one to join is the first thing the watcher sees.
        await using var next = await JoinAsync(room, "next");
        var (seen, _) = await watcher.ExpectAsync(f => TestChatClient.Str(f, "joined") == "next");
        Assert.Empty(seen);
    }

    [Theory]
    [InlineData("{}")]
    [InlineData("{\"name\": \"\"}")]
    [InlineData("{\"name\": null}")]
    public async Task Missing_or_empty_name_joins_as_anonymous(string frame)
    {
        var room = NewRoom();
        await using var watcher = await JoinAsync(room, "watcher");
        await using var client = await cluster.ConnectAsync(room, NextAddress());

        await client.SendTextAsync(frame);

        var (joining, _) = await client.ExpectAsync(TestChatClient.IsReady);
        Assert.Contains(joining, f => TestChatClient.Str(f, "joined") == "anonymous");
        await watcher.ExpectAsync(f => TestChatClient.Str(f, "joined") == "anonymous");
        var echo = await AssertStillRelaysAsync(client);
        Assert.Equal("anonymous", TestChatClient.Str(echo, "name"));
    }

    // --- frames the gateway does not take at all ---

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Binary_frame_gets_an_error_and_close_1003(bool named)
    {
        var room = NewRoom();
        await using var watcher = await JoinAsync(room, "watcher");
        await using var client = await cluster.ConnectAsync(room, NextAddress());
        if (named)
        {
            await client.JoinAsync("binary");
        }

        await client.SendRawAsync(Encoding.UTF8.GetBytes("{\"message\": \"as binary\"}"), WebSocketMessageType.Binary);

        var before = await AssertErrorAsync(client, "Binary frames are not supported.");
        Assert.DoesNotContain(before, f => f.TryGetProperty("message", out _));
        Assert.Equal(WebSocketCloseStatus.InvalidMessageType, await client.WaitClosedAsync());
        if (named)
        {
            await watcher.ExpectAsync(f => TestChatClient.Str(f, "quit") == "binary");
        }

        Assert.DoesNotContain(watcher.Received, f => TestChatClient.Str(f, "message") == "as binary");
    }

    [Fact]
    public async Task Text_frame_that_is_not_utf8_closes_1007_and_the_room_sees_the_sender_quit()
    {
        var room = NewRoom();
        await using var watcher = await JoinAsync(room, "watcher");
        await using var client = await JoinAsync(room, "mangler");

        await client.SendRawAsync([(byte)'{', 0xC3, 0x28, 0xFF, (byte)'}'], WebSocketMessageType.Text);

        Assert.Equal(WebSocketCloseStatus.InvalidPayloadData, await client.WaitClosedAsync());
        await watcher.ExpectAsync(f => TestChatClient.Str(f, "quit") == "mangler");
        await AssertStillRelaysAsync(watcher);
    }

    [Fact]
    public async Task Frame_of_exactly_max_frame_bytes_is_accepted()
    {
        var room = NewRoom();
        await using var client = await JoinAsync(room, "alice");
        var json = "{\"message\": \"padded\"}";
        var frame = json + new string(' ', 4096 - json.Length);

        await client.SendTextAsync(frame);

        await client.ExpectMessageAsync("padded");
        Assert.DoesNotContain(client.Received, f => f.TryGetProperty("error", out _));
    }

    [Theory]
    [InlineData(4097)]
    [InlineData(1024 * 1024)]
    public async Task Frame_larger_than_max_frame_bytes_closes_1009_and_the_gateway_keeps_serving(int size)
    {
        var room = NewRoom();
        await using var bystander = await JoinAsync(room, "bystander");
        await using var client = await JoinAsync(room, "flooder");
        var json = "{\"message\": \"" + new string('a', size) + "\"}";
        var frame = Encoding.UTF8.GetBytes(json)[..size];

        try
        {
            await client.SendRawAsync(frame, WebSocketMessageType.Text);
        }
        catch (WebSocketException)
        {
            // The gateway may close the connection before taking the whole frame: that is fine.
        }

        Assert.Equal(WebSocketCloseStatus.MessageTooBig, await client.WaitClosedAsync());
        Assert.Contains(client.Received, f => TestChatClient.Str(f, "error") == "Frame too large.");
        await bystander.ExpectAsync(f => TestChatClient.Str(f, "quit") == "flooder");

        // The gateway still serves: the member already there, and a newcomer.
        await using var newcomer = await JoinAsync(room, "newcomer");
        await SendAndExpectAsync(bystander, "still serving");
        await newcomer.ExpectMessageAsync("still serving");
        Assert.DoesNotContain(bystander.Received, f => f.TryGetProperty("error", out _));
    }

    // --- clients that do not behave ---

    [Fact]
    public async Task Client_that_never_sends_its_name_is_closed_with_1008_after_the_name_timeout()
    {
        var gateway = await cluster.StartGatewayAsync(settings => settings["Chat:Gateway:NameTimeout"] = "00:00:01");
        var room = NewRoom();
        await using var named = await TestChatClient.ConnectAsync(gateway.WebSocketUri(room), NextAddress());
        await named.JoinAsync("named");
        var clock = Stopwatch.StartNew();

        await using var silent = await TestChatClient.ConnectAsync(gateway.WebSocketUri(room), NextAddress());

        Assert.Equal(WebSocketCloseStatus.PolicyViolation, await silent.WaitClosedAsync(Quick));
        Assert.True(clock.Elapsed >= TimeSpan.FromSeconds(0.9), $"Closed after {clock.Elapsed}, before the name timeout.");
        var error = Assert.Single(silent.Received);
        Assert.Equal("No name was sent in time.", TestChatClient.Str(error, "error"));

        // The timeout is for naming only: the member that named itself in time outlives it.
        await SendAndExpectAsync(named, "still here");
        Assert.DoesNotContain(named.Received, f => f.TryGetProperty("error", out _));
    }

    [Fact]
    public async Task Socket_without_a_name_receives_no_room_traffic_but_gets_it_as_history_once_named()
    {
        var room = NewRoom();
        await using var alice = await JoinAsync(room, "alice");
        await using var lurker = await cluster.ConnectAsync(room, NextAddress());

        await using var bob = await JoinAsync(room, "bob");
        await alice.ExpectAsync(f => TestChatClient.Str(f, "joined") == "bob");
        await SendAndExpectAsync(alice, "secret one");
        await bob.ExpectMessageAsync("secret one");
        await SendAndExpectAsync(bob, "secret two");
        await alice.ExpectMessageAsync("secret two");

        // Both messages have reached every member: the unnamed socket saw nothing of it.
        Assert.Empty(lurker.Received);

        var joining = await lurker.JoinAsync("latecomer");
        var described = joining.Select(Describe).ToList();
        Assert.Equal(["joined:alice", "joined:bob", "alice:secret one", "bob:secret two", "joined:latecomer"], described);
        await alice.ExpectAsync(f => TestChatClient.Str(f, "joined") == "latecomer");
    }

    [Fact]
    public async Task Slow_reader_is_closed_with_1008_and_slows_down_nobody()
    {
        const int count = 300;
        var gateway = await cluster.StartGatewayAsync(settings =>
        {
            settings["Chat:Gateway:SendQueueLimit"] = "16";
            settings["Chat:Gateway:SocketSendBufferBytes"] = "4096";
            settings["Chat:Gateway:KeepAliveInterval"] = "00:10:00";
            settings["Chat:Gateway:KeepAliveTimeout"] = "00:10:00";

            // Long enough that the slow client gets its close frame once it reads again, rather than an abort.
            settings["Chat:Gateway:CloseTimeout"] = "00:00:30";
        });
        var room = NewRoom();
        await using var fast = await TestChatClient.ConnectAsync(gateway.WebSocketUri(room), NextAddress());
        await fast.JoinAsync("fast");
        await using var slow = await TestChatClient.ConnectAsync(gateway.WebSocketUri(room), NextAddress(), receiveBufferBytes: 4096, startReceiving: false);
        await slow.SendAsync(new { name = "slow" });
        await fast.ExpectAsync(f => TestChatClient.Str(f, "joined") == "slow");

        // Long multi-byte messages fill the slow client's kernel buffers and send queue quickly. They go
        // a few at a time, each few as soon as the fast member has the previous ones: a room that waited
        // for the slow reader would stall here.
        var grain = cluster.Client.GetGrain<IRoomGrain>(room);
        var posted = new List<(long Timestamp, string Text)>();
        for (var first = 0; first < count; first += 4)
        {
            var texts = Enumerable.Range(first, Math.Min(4, count - first)).Select(i => $"{i:D4} " + new string('€', 245)).ToArray();
            var timestamps = await Task.WhenAll(texts.Select(text => grain.Post("flood", text)));
            posted.AddRange(timestamps.Zip(texts));
            await fast.ExpectMessageAsync(texts[Array.IndexOf(timestamps, timestamps.Max())]);
        }

        var expected = posted.OrderBy(p => p.Timestamp).Select(p => p.Text).ToList();
        var fastGot = fast.Received.Where(f => TestChatClient.Str(f, "name") == "flood").ToList();
        Assert.Equal(expected, fastGot.Select(f => TestChatClient.Str(f, "message")));
        Assert.Equal(posted.Select(p => p.Timestamp).Order(), fastGot.Select(f => f.GetProperty("timestamp").GetInt64()));
        Assert.DoesNotContain(fast.Received, f => f.TryGetProperty("error", out _));

        slow.StartReceiving();
        Assert.Equal(WebSocketCloseStatus.PolicyViolation, await slow.WaitClosedAsync());
        var slowGot = slow.Received.Where(f => TestChatClient.Str(f, "name") == "flood").Select(f => TestChatClient.Str(f, "message")).ToList();
        Assert.True(slowGot.Count < count, $"The slow client got all {count} messages.");

        // What it did get is the start of the conversation, without gaps, and then it was told why it goes.
        Assert.Equal(expected.Take(slowGot.Count), slowGot);
        Assert.Equal("Too many frames waiting: the connection is too slow.", TestChatClient.Str(slow.Received[^1], "error"));

        // Once the slow client is gone (this test client does not answer the close frame: it drops the
        // connection), the room sees it quit, and the fast member is still served.
        await slow.DisposeAsync();
        await fast.ExpectAsync(f => TestChatClient.Str(f, "quit") == "slow");
        await SendAndExpectAsync(fast, "still fast");
    }

    [Fact]
    public async Task History_longer_than_the_send_queue_limit_does_not_get_a_reading_joiner_closed()
    {
        // The roster and history are a finite burst owed to a new session, not a reader falling behind
        // (ChatSession says so too). Long messages and small socket buffers make the burst take a few
        // round trips to flush, as on any real network, while the joiner reads all along.
        const int history = 100;
        var gateway = await cluster.StartGatewayAsync(settings =>
        {
            settings["Chat:Gateway:SendQueueLimit"] = "16";
            settings["Chat:Gateway:SocketSendBufferBytes"] = "4096";
        });
        var room = NewRoom();
        var grain = cluster.Client.GetGrain<IRoomGrain>(room);
        var texts = Enumerable.Range(0, history).Select(i => $"{i:D3} " + new string('€', 245)).ToList();
        foreach (var text in texts)
        {
            await grain.Post("earlier", text);
        }

        await using var client = await TestChatClient.ConnectAsync(gateway.WebSocketUri(room), NextAddress(), receiveBufferBytes: 4096);
        var joining = await client.JoinAsync("reader");

        Assert.Equal(texts, joining.Select(f => TestChatClient.Str(f, "message")).OfType<string>());
        var echo = await AssertStillRelaysAsync(client);
        Assert.Equal("reader", TestChatClient.Str(echo, "name"));
    }

    [Fact]
    public async Task Peer_that_stops_answering_pings_is_dropped_and_the_room_sees_it_quit()
    {
        var gateway = await cluster.StartGatewayAsync(settings =>
        {
            settings["Chat:Gateway:KeepAliveInterval"] = "00:00:01";
            settings["Chat:Gateway:KeepAliveTimeout"] = "00:00:01";
        });
        var room = NewRoom();

        // This member reads (so its socket answers pings) and must survive the same keep-alive.
        await using var alive = await TestChatClient.ConnectAsync(gateway.WebSocketUri(room), NextAddress());
        await alive.JoinAsync("alive");
        await using var dead = await TestChatClient.ConnectAsync(gateway.WebSocketUri(room), NextAddress(), startReceiving: false);
        await dead.SendAsync(new { name = "dead" });
        await alive.ExpectAsync(f => TestChatClient.Str(f, "joined") == "dead");

        await alive.ExpectAsync(f => TestChatClient.Str(f, "quit") == "dead", Quick);

        await SendAndExpectAsync(alive, "still alive");
        Assert.False(alive.Closed.IsCompleted);
    }

    [Fact]
    public async Task Origin_not_in_the_allow_list_is_refused_and_a_listed_one_is_served()
    {
        var gateway = await cluster.StartGatewayAsync(settings => settings["Chat:Gateway:AllowedOrigins:0"] = "http://good.example");
        var room = NewRoom();

        var refused = await Assert.ThrowsAsync<WebSocketException>(() =>
            TestChatClient.ConnectAsync(gateway.WebSocketUri(room), NextAddress(), headers: new Dictionary<string, string> { ["Origin"] = "http://evil.example" }));
        Assert.Contains("403", refused.Message);

        await using var good = await TestChatClient.ConnectAsync(gateway.WebSocketUri(room), NextAddress(), headers: new Dictionary<string, string> { ["Origin"] = "http://good.example" });
        await good.JoinAsync("good");
        await AssertStillRelaysAsync(good);
    }

    // --- helpers ---

    private static string NewRoom() => "hostile-" + Guid.NewGuid().ToString("N")[..24];

    /// <summary>A distinct client address per socket, so the per-IP rate limit never interferes.</summary>
    // --- more sockets than the gateway may hold: refused before the upgrade, the others go on ---

    [Fact]
    public async Task Sockets_past_the_gateway_limit_get_503_and_the_open_ones_keep_working()
    {
        await using var gateway = await cluster.StartGatewayAsync(settings => settings["Chat:Gateway:MaxSockets"] = "3");
        var room = NewRoom();
        var members = new List<TestChatClient>();
        try
        {
            foreach (var name in new[] { "a", "b", "c" })
            {
                var member = await TestChatClient.ConnectAsync(gateway.WebSocketUri(room), NextAddress());
                members.Add(member);
                await member.JoinAsync(name);
            }

            using var refused = new ClientWebSocket();
            refused.Options.CollectHttpResponseDetails = true;
            await Assert.ThrowsAsync<WebSocketException>(() => refused.ConnectAsync(gateway.WebSocketUri(room), CancellationToken.None));
            Assert.Equal(System.Net.HttpStatusCode.ServiceUnavailable, refused.HttpStatusCode);

            await AssertStillRelaysAsync(members[0]);

            // A place that frees up is taken again.
            await members[2].DisposeAsync();
            members.RemoveAt(2);
            await Poll.UntilAsync(async () =>
            {
                using var probe = new ClientWebSocket();
                try
                {
                    await probe.ConnectAsync(gateway.WebSocketUri(room), CancellationToken.None);
                    probe.Abort();
                    return true;
                }
                catch (WebSocketException)
                {
                    return false;
                }
            }, Quick);
        }
        finally
        {
            foreach (var member in members)
            {
                await member.DisposeAsync();
            }
        }
    }

    private static string NextAddress()
    {
        var n = Interlocked.Increment(ref s_lastAddress);
        return $"10.66.{n / 250}.{(n % 250) + 1}";
    }

    private Task<TestChatClient> JoinAsync(string room, string name) => cluster.JoinAsync(room, name, NextAddress());

    private static async Task<List<JsonElement>> AssertErrorAsync(TestChatClient client, string error)
    {
        var (before, frame) = await client.ExpectErrorAsync();
        Assert.Equal(error, TestChatClient.Str(frame, "error"));
        return before;
    }

    private static async Task<(List<JsonElement> Before, JsonElement Match)> SendAndExpectAsync(TestChatClient client, string text)
    {
        await client.SendAsync(new { message = text });
        return await client.ExpectMessageAsync(text);
    }

    /// <summary>Proves the socket is open and joined: a valid message comes back relayed.</summary>
    private static async Task<JsonElement> AssertStillRelaysAsync(TestChatClient client)
    {
        var text = "proof " + Guid.NewGuid().ToString("N")[..8];
        var (_, echo) = await SendAndExpectAsync(client, text);
        Assert.True(echo.GetProperty("timestamp").GetInt64() > 0);
        Assert.False(client.Closed.IsCompleted);
        return echo;
    }

    private static string Describe(JsonElement frame) =>
        TestChatClient.Str(frame, "joined") is { } joined ? "joined:" + joined
        : TestChatClient.Str(frame, "quit") is { } quit ? "quit:" + quit
        : TestChatClient.Str(frame, "message") is { } message ? TestChatClient.Str(frame, "name") + ":" + message
        : frame.GetRawText();
}
