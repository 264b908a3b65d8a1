namespace Chat.Orleans.Grains.RateLimiting;

/// <summary>
/// The original's rule for one client IP, on a millisecond clock: each message pushes the next allowed
/// time one <c>interval</c> further (never from earlier than now), and the client is told to wait only
/// for what lies beyond the <c>grace</c>. With 5 s and 20 s, a burst of about 4 to 5 messages passes,
/// then one every 5 seconds.
/// </summary>
public sealed class RateLimitRule(TimeSpan interval, TimeSpan grace)
{
    private readonly long _intervalMs = (long)interval.TotalMilliseconds;
    private readonly long _graceMs = (long)grace.TotalMilliseconds;
    private long _nextAllowedMs;

    /// <summary>Counts one message at <paramref name="nowMs"/>; returns how long the client must now wait.</summary>
    public TimeSpan Spend(long nowMs)
    {
        _nextAllowedMs = Math.Max(nowMs, _nextAllowedMs) + _intervalMs;
        return CooldownAt(nowMs);
    }

    /// <summary>How long the client must wait at <paramref name="nowMs"/>, without counting anything.</summary>
    public TimeSpan CooldownAt(long nowMs) => TimeSpan.FromMilliseconds(Math.Max(0, _nextAllowedMs - nowMs - _graceMs));
}
