using Microsoft.Extensions.Options;

namespace Chat.Orleans.Grains.RateLimiting;

/// <summary>
/// The per-IP limiter of the original, shared by every room and gateway. It holds one number in
/// memory; if it is lost (deactivation, silo crash) the IP simply starts afresh.
/// </summary>
public sealed class RateLimiterGrain(IOptions<RateLimitOptions> options) : Grain, IRateLimiterGrain
{
    private readonly long _intervalMs = (long)options.Value.Interval.TotalMilliseconds;
    private readonly long _graceMs = (long)options.Value.Grace.TotalMilliseconds;
    private long _nextAllowedMs;

    public Task<TimeSpan> Spend()
    {
        var now = Environment.TickCount64;
        _nextAllowedMs = Math.Max(now, _nextAllowedMs) + _intervalMs;
        return Task.FromResult(CooldownAt(now));
    }

    public Task<TimeSpan> GetCooldown() => Task.FromResult(CooldownAt(Environment.TickCount64));

    private TimeSpan CooldownAt(long now) =>
        TimeSpan.FromMilliseconds(Math.Max(0, _nextAllowedMs - now - _graceMs));
}
