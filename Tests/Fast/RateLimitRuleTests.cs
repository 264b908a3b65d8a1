using Chat.Orleans.Grains.RateLimiting;

namespace Chat.Orleans.Tests.Fast;

/// <summary>The per-IP rule of the original (PROTOCOL.md, "Rate limit") on a clock the test moves.</summary>
[Trait("Category", "Fast")]
public sealed class RateLimitRuleTests
{
    private readonly RateLimitRule _rule = new(TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(20));

    [Fact]
    public void A_burst_of_four_is_free_and_the_fifth_message_earns_a_cooldown()
    {
        for (var i = 0; i < 4; i++)
        {
            Assert.Equal(TimeSpan.Zero, _rule.Spend(nowMs: 0));
        }

        Assert.Equal(TimeSpan.FromSeconds(5), _rule.Spend(nowMs: 0));
        Assert.Equal(TimeSpan.FromSeconds(5), _rule.CooldownAt(nowMs: 0));
    }

    [Fact]
    public void After_the_burst_one_message_every_interval_passes()
    {
        for (var i = 0; i < 5; i++)
        {
            _rule.Spend(nowMs: 0);
        }

        Assert.Equal(TimeSpan.FromSeconds(1), _rule.CooldownAt(nowMs: 4_000));
        Assert.Equal(TimeSpan.Zero, _rule.CooldownAt(nowMs: 5_000));
        Assert.Equal(TimeSpan.FromSeconds(5), _rule.Spend(nowMs: 5_000));
        Assert.Equal(TimeSpan.Zero, _rule.CooldownAt(nowMs: 10_000));
    }

    [Fact]
    public void Idle_time_is_not_saved_up()
    {
        // The next allowed time never starts from before now: an hour of silence buys the same burst.
        Assert.Equal(TimeSpan.Zero, _rule.Spend(nowMs: 0));
        for (var i = 0; i < 4; i++)
        {
            Assert.Equal(TimeSpan.Zero, _rule.Spend(nowMs: 3_600_000));
        }

        Assert.Equal(TimeSpan.FromSeconds(5), _rule.Spend(nowMs: 3_600_000));
    }

    [Fact]
    public void Asking_for_the_cooldown_counts_nothing()
    {
        for (var i = 0; i < 100; i++)
        {
            Assert.Equal(TimeSpan.Zero, _rule.CooldownAt(nowMs: 0));
        }

        Assert.Equal(TimeSpan.Zero, _rule.Spend(nowMs: 0));
    }
}
