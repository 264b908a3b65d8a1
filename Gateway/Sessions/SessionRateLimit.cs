namespace Chat.Orleans.Gateway.Sessions;

/// <summary>
/// The protocol's per-IP rate limit as one session applies it, optimistically like the original: the
/// session's own cooldown answers at once, and the shared per-IP limiter grain is told in the
/// background, so it is never on the message's path. Its answers only ever lengthen the cooldown.
/// </summary>
public sealed partial class SessionRateLimit(IRateLimiterGrain limiter, ILogger logger)
{
    // Environment.TickCount64 until which this session's messages are refused; raised lock-free.
    private long _cooldownUntil;

    /// <summary>
    /// Fetches the limiter's current verdict for this IP, so a client that hops to a new socket or room
    /// does not start with a clean slate. Never throws: an unreachable limiter lets messages pass.
    /// </summary>
    public async Task FetchAsync()
    {
        try
        {
            Extend(await limiter.GetCooldown());
        }
        catch (Exception exception)
        {
            LogLimiterFailed(logger, exception);
        }
    }

    /// <summary>True when a message may pass now; it is then counted with the limiter in the background.</summary>
    public bool TryPass()
    {
        if (Environment.TickCount64 < Volatile.Read(ref _cooldownUntil))
        {
            return false;
        }

        _ = SpendAsync();
        return true;
    }

    private async Task SpendAsync()
    {
        try
        {
            Extend(await limiter.Spend());
        }
        catch (Exception exception)
        {
            LogLimiterFailed(logger, exception);
        }
    }

    private void Extend(TimeSpan cooldown)
    {
        var until = Environment.TickCount64 + (long)cooldown.TotalMilliseconds;
        var current = Volatile.Read(ref _cooldownUntil);
        while (until > current)
        {
            var seen = Interlocked.CompareExchange(ref _cooldownUntil, until, current);
            if (seen == current)
            {
                break;
            }

            current = seen;
        }
    }

    [LoggerMessage(EventId = 4003, Level = LogLevel.Warning, Message = "The rate limiter could not be reached")]
    private static partial void LogLimiterFailed(ILogger logger, Exception exception);
}
