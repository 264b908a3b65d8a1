using System.ComponentModel.DataAnnotations;

namespace Chat.Orleans.Grains.RateLimiting;

/// <summary>The protocol's rule: each message pushes the next allowed time one interval further, with a grace.</summary>
public sealed class RateLimitOptions
{
    public const string Section = "Chat:RateLimit";

    [Range(typeof(TimeSpan), "00:00:00", "01:00:00")]
    public TimeSpan Interval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>How far ahead the next allowed time may run before a cooldown starts: the burst allowance.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "01:00:00")]
    public TimeSpan Grace { get; set; } = TimeSpan.FromSeconds(20);
}
