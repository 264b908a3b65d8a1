using Microsoft.Extensions.Options;

namespace Chat.Orleans.Grains.RateLimiting;

/// <summary>
/// The per-IP limiter of the original, shared by every room and gateway. It holds one number in
/// memory (<see cref="RateLimitRule"/>); if it is lost (deactivation, silo crash) the IP simply starts afresh.
/// </summary>
public sealed class RateLimiterGrain(IOptions<RateLimitOptions> options) : Grain, IRateLimiterGrain
{
    private readonly RateLimitRule _rule = new(options.Value.Interval, options.Value.Grace);

    public Task<TimeSpan> Spend() => Task.FromResult(_rule.Spend(Environment.TickCount64));

    public Task<TimeSpan> GetCooldown() => Task.FromResult(_rule.CooldownAt(Environment.TickCount64));
}
