namespace Chat.Orleans;

/// <summary>
/// One per client IP, shared by all rooms and gateways. Keeps no durable state: losing it only
/// forgets a cooldown.
/// </summary>
[Alias("chat.IRateLimiterGrain")]
public interface IRateLimiterGrain : IGrainWithStringKey
{
    /// <summary>Records one message and returns how long the client must wait before the next one.</summary>
    [Alias("Spend")]
    Task<TimeSpan> Spend();

    /// <summary>Returns the current cooldown without recording anything.</summary>
    [Alias("GetCooldown")]
    Task<TimeSpan> GetCooldown();
}
