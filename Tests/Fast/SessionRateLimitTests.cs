using Chat.Orleans.Gateway.Sessions;
using Microsoft.Extensions.Logging.Abstractions;

namespace Chat.Orleans.Tests.Fast;

/// <summary>
/// The session's optimistic side of the rate limit: its own cooldown answers at once, the shared limiter
/// (here a stand-in that answers what the test says) only ever lengthens it.
/// </summary>
[Trait("Category", "Fast")]
public sealed class SessionRateLimitTests
{
    private static readonly TimeSpan Long = TimeSpan.FromHours(1);

    private readonly ScriptedLimiter _limiter = new();
    private readonly SessionRateLimit _limit;

    public SessionRateLimitTests() => _limit = new SessionRateLimit(_limiter, NullLogger.Instance);

    [Fact]
    public void Messages_pass_and_are_counted_until_the_limiter_answers_with_a_cooldown()
    {
        Assert.True(_limit.TryPass());
        Assert.True(_limit.TryPass());
        Assert.Equal(2, _limiter.Spent);

        _limiter.NextAnswer = Long;
        Assert.True(_limit.TryPass());

        // The answer to the third message arrived: the fourth is refused and not counted.
        Assert.False(_limit.TryPass());
        Assert.Equal(3, _limiter.Spent);
    }

    [Fact]
    public async Task A_cooldown_fetched_at_join_applies_to_the_first_message()
    {
        _limiter.NextAnswer = Long;
        await _limit.FetchAsync();

        Assert.False(_limit.TryPass());
        Assert.Equal(0, _limiter.Spent);
    }

    [Fact]
    public async Task A_shorter_answer_never_shortens_the_cooldown()
    {
        _limiter.NextAnswer = Long;
        await _limit.FetchAsync();
        _limiter.NextAnswer = TimeSpan.Zero;
        await _limit.FetchAsync();

        Assert.False(_limit.TryPass());
    }

    [Fact]
    public async Task An_unreachable_limiter_lets_messages_pass()
    {
        _limiter.Fails = true;
        await _limit.FetchAsync();

        Assert.True(_limit.TryPass());
        Assert.True(_limit.TryPass());
    }

    /// <summary>The limiter grain's contract, answering at once with whatever the test set.</summary>
    private sealed class ScriptedLimiter : IRateLimiterGrain
    {
        public TimeSpan NextAnswer { get; set; }

        public bool Fails { get; set; }

        public int Spent { get; private set; }

        public Task<TimeSpan> Spend()
        {
            Spent++;
            return Answer();
        }

        public Task<TimeSpan> GetCooldown() => Answer();

        private Task<TimeSpan> Answer() =>
            Fails ? Task.FromException<TimeSpan>(new TimeoutException("unreachable")) : Task.FromResult(NextAnswer);
    }
}
