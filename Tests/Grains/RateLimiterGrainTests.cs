namespace Chat.Orleans.Tests.Grains;

/// <summary>The per-IP rate limiter with the protocol's numbers: one message per 5 s, 20 s of grace.</summary>
[Collection(GrainClusterCollection.Name)]
public sealed class RateLimiterGrainTests(GrainClusterFixture fixture)
{
    private static readonly TimeSpan Interval = GrainClusterFixture.RateLimitInterval;

    // The grain call itself and a busy machine: the fifth spend comes a little after the first.
    private static readonly TimeSpan Slack = TimeSpan.FromSeconds(1);

    [Fact]
    public async Task The_first_four_messages_are_free_and_the_fifth_waits_about_one_interval()
    {
        var limiter = Limiter("192.0.2.1");

        var cooldowns = new List<TimeSpan>();
        for (var i = 0; i < 5; i++)
        {
            cooldowns.Add(await limiter.Spend());
        }

        Assert.Equal([TimeSpan.Zero, TimeSpan.Zero, TimeSpan.Zero, TimeSpan.Zero], cooldowns.Take(4));
        Assert.InRange(cooldowns[4], Interval - Slack, Interval);
    }

    [Fact]
    public async Task GetCooldown_does_not_spend()
    {
        var limiter = Limiter("192.0.2.2");

        for (var i = 0; i < 10; i++)
        {
            Assert.Equal(TimeSpan.Zero, await limiter.GetCooldown());
        }

        // Had any of the calls above spent, the grace would be used up before the fourth message.
        for (var i = 0; i < 4; i++)
        {
            Assert.Equal(TimeSpan.Zero, await limiter.Spend());
        }

        for (var i = 0; i < 10; i++)
        {
            Assert.Equal(TimeSpan.Zero, await limiter.GetCooldown());
        }

        var fifth = await limiter.Spend();
        Assert.InRange(fifth, Interval - Slack, Interval);

        // Asking again only watches the cooldown run down; it never pushes it further.
        var previous = fifth;
        for (var i = 0; i < 10; i++)
        {
            var cooldown = await limiter.GetCooldown();
            Assert.InRange(cooldown, Interval - Slack - Slack, previous);
            previous = cooldown;
        }

        // The next spend adds exactly one interval to what is left.
        var sixth = await limiter.Spend();
        Assert.InRange(sixth, previous + Interval - Slack, previous + Interval);
    }

    [Fact]
    public async Task Different_ips_are_limited_independently()
    {
        var busy = Limiter("192.0.2.3");
        var quiet = Limiter("192.0.2.4");

        for (var i = 0; i < 5; i++)
        {
            await busy.Spend();
        }

        Assert.True(await busy.GetCooldown() > TimeSpan.Zero);
        Assert.Equal(TimeSpan.Zero, await quiet.GetCooldown());
        for (var i = 0; i < 4; i++)
        {
            Assert.Equal(TimeSpan.Zero, await quiet.Spend());
        }

        Assert.True(await busy.GetCooldown() > TimeSpan.Zero);
    }

    // Keys are unique per test run's cluster, and each test uses its own.
    private IRateLimiterGrain Limiter(string ip) => fixture.Client.GetGrain<IRateLimiterGrain>(ip);
}
