using System.Text.Json;

namespace Chat.Orleans.Tests.EndToEnd;

/// <summary>
/// PROTOCOL.md, "Resume": a name frame with <c>since</c> gets every message after it instead of the last
/// 100 (up to the room's resume limit, 1 000), then <c>{"resumed": ...}</c> right before <c>ready</c>.
/// </summary>
public sealed class ResumeTests(ChatCluster cluster) : IClassFixture<ChatCluster>
{
    [Fact]
    public async Task A_client_that_missed_150_messages_gets_exactly_those_then_resumed_true()
    {
        await using var gateway = await StartUnlimitedGatewayAsync();
        var room = NewRoom();
        await using var poster = await JoinAsync(gateway, room, "poster");
        var seen = await PostAsync(poster, "seen");
        var missed = new List<long>();
        for (var i = 0; i < 150; i++)
        {
            missed.Add(await PostAsync(poster, $"missed {i}"));
        }

        // From the log (the gap is older than the 100 the room keeps in memory) and from memory.
        var (fromLog, resumed) = await ResumeAsync(gateway, room, seen);
        Assert.Equal(missed, fromLog.Select(Timestamp));
        Assert.True(resumed);

        var (fromMemory, resumedAgain) = await ResumeAsync(gateway, room, missed[139]);
        Assert.Equal(missed[140..], fromMemory.Select(Timestamp));
        Assert.True(resumedAgain);
    }

    [Fact]
    public async Task More_than_the_resume_limit_gives_the_newest_100_and_resumed_false()
    {
        await using var gateway = await StartUnlimitedGatewayAsync();
        var room = NewRoom();
        await using var poster = await JoinAsync(gateway, room, "poster");
        var posted = new List<long>();
        for (var i = 0; i < 1001; i++)
        {
            posted.Add(await PostAsync(poster, $"message {i}"));
        }

        var (history, resumed) = await ResumeAsync(gateway, room, since: posted[0] - 1);
        Assert.False(resumed);
        Assert.Equal(posted[^100..], history.Select(Timestamp));
    }

    [Fact]
    public async Task A_since_that_is_not_a_non_negative_integer_is_an_error_and_a_plain_join()
    {
        await using var gateway = await StartUnlimitedGatewayAsync();
        var room = NewRoom();
        await using var poster = await JoinAsync(gateway, room, "poster");
        var first = await PostAsync(poster, "first");

        foreach (var since in new object[] { -1, "12", 1.5 })
        {
            await using var client = await TestChatClient.ConnectAsync(gateway.WebSocketUri(room), ClientAddresses.New());
            await client.SendAsync(new { name = "late", since });
            var (before, _) = await client.ExpectAsync(TestChatClient.IsReady);
            Assert.Contains("since", TestChatClient.Str(before[0], "error"));
            Assert.Contains(before, frame => Timestamp(frame) == first);
            Assert.DoesNotContain(before, frame => frame.TryGetProperty("resumed", out _));
        }
    }

    /// <summary>Joins with <paramref name="since"/>; returns the messages before ready and the resumed flag.</summary>
    private static async Task<(List<JsonElement> Messages, bool Resumed)> ResumeAsync(ChatGateway gateway, string room, long since)
    {
        await using var client = await TestChatClient.ConnectAsync(gateway.WebSocketUri(room), ClientAddresses.New());
        await client.SendAsync(new { name = "back", since });
        var (before, _) = await client.ExpectAsync(TestChatClient.IsReady);

        // The order ends ... own joined, resumed, ready.
        Assert.Equal("back", TestChatClient.Str(before[^2], "joined"));
        var resumed = before[^1].GetProperty("resumed").GetBoolean();
        return ([.. before.Where(frame => frame.TryGetProperty("timestamp", out _))], resumed);
    }

    private static async Task<long> PostAsync(TestChatClient client, string text)
    {
        await client.SendAsync(new { message = text });
        var (_, echo) = await client.ExpectMessageAsync(text);
        return Timestamp(echo);
    }

    private static long Timestamp(JsonElement frame) => frame.TryGetProperty("timestamp", out var t) ? t.GetInt64() : 0;

    private async Task<ChatGateway> StartUnlimitedGatewayAsync() =>
        await cluster.StartGatewayAsync(settings => settings["Chat:Gateway:RateLimitEnabled"] = "false");

    private static async Task<TestChatClient> JoinAsync(ChatGateway gateway, string room, string name)
    {
        var client = await TestChatClient.ConnectAsync(gateway.WebSocketUri(room), ClientAddresses.New());
        await client.JoinAsync(name);
        return client;
    }

    private static string NewRoom() => "resume-" + Guid.NewGuid().ToString("N")[..24];
}
