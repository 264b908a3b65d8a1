using System.Net;
using System.Threading.RateLimiting;
using Microsoft.Extensions.Options;

namespace Chat.Orleans.Gateway.Connections;

/// <summary>
/// Per client IP. Scrollback requests at <see cref="ChatGatewayOptions.ScrollbackPerIpPerSecond"/>; and
/// before a socket's upgrade: at most <see cref="ChatGatewayOptions.MaxSocketsPerIp"/> open chat
/// sockets, and new ones at <see cref="ChatGatewayOptions.JoinsPerIpPerSecond"/> after a burst of
/// <see cref="ChatGatewayOptions.JoinBurstPerIp"/>. Without it, one address could take every socket the
/// gateway has and lock everyone else out. Partitions of idle addresses are dropped by the limiter.
/// </summary>
public sealed class ClientLimits : IDisposable
{
    // What a client over the socket cap is told: sockets are long-lived, so a retry soon rarely helps.
    private static readonly TimeSpan SocketsRetryAfter = TimeSpan.FromSeconds(10);

    private readonly PartitionedRateLimiter<IPAddress> _sockets;
    private readonly PartitionedRateLimiter<IPAddress> _joins;
    private readonly PartitionedRateLimiter<IPAddress> _scrollback;

    public ClientLimits(IOptions<ChatGatewayOptions> options)
    {
        var settings = options.Value;
        _sockets = settings.MaxSocketsPerIp == 0
            ? Unlimited()
            : PartitionedRateLimiter.Create<IPAddress, IPAddress>(address => RateLimitPartition.GetConcurrencyLimiter(address, _ => new ConcurrencyLimiterOptions
            {
                PermitLimit = settings.MaxSocketsPerIp,
                QueueLimit = 0,
            }));

        _joins = TokenBuckets(settings.JoinsPerIpPerSecond, settings.JoinBurstPerIp);
        _scrollback = TokenBuckets(settings.ScrollbackPerIpPerSecond, settings.ScrollbackBurstPerIp);
    }

    /// <summary>
    /// Admits one more socket from <paramref name="address"/>: the returned lease is held for the
    /// socket's life. Null when the address is over a limit; then <paramref name="retryAfter"/> says when
    /// to come back.
    /// </summary>
    public RateLimitLease? TryAdmit(IPAddress address, out TimeSpan retryAfter)
    {
        var socket = _sockets.AttemptAcquire(address);
        if (!socket.IsAcquired)
        {
            socket.Dispose();
            retryAfter = SocketsRetryAfter;
            return null;
        }

        using var join = _joins.AttemptAcquire(address);
        if (!join.IsAcquired)
        {
            socket.Dispose();
            retryAfter = RetryAfter(join);
            return null;
        }

        retryAfter = TimeSpan.Zero;
        return socket;
    }

    /// <summary>
    /// Admits one scrollback request from <paramref name="address"/>; false when it is over its limit,
    /// and then <paramref name="retryAfter"/> says when to come back.
    /// </summary>
    public bool TryAdmitScrollback(IPAddress address, out TimeSpan retryAfter)
    {
        using var lease = _scrollback.AttemptAcquire(address);
        retryAfter = lease.IsAcquired ? TimeSpan.Zero : RetryAfter(lease);
        return lease.IsAcquired;
    }

    private static TimeSpan RetryAfter(RateLimitLease lease) =>
        lease.TryGetMetadata(MetadataName.RetryAfter, out var after) ? after : TimeSpan.FromSeconds(1);

    // Replenished by the partitioned limiter's own timer (AutoReplenishment off): no timer per address.
    private static PartitionedRateLimiter<IPAddress> TokenBuckets(int perSecond, int burst) => perSecond == 0
        ? Unlimited()
        : PartitionedRateLimiter.Create<IPAddress, IPAddress>(address => RateLimitPartition.GetTokenBucketLimiter(address, _ => new TokenBucketRateLimiterOptions
        {
            TokenLimit = burst,
            TokensPerPeriod = perSecond,
            ReplenishmentPeriod = TimeSpan.FromSeconds(1),
            QueueLimit = 0,
            AutoReplenishment = false,
        }));

    // An unlimited partition is never dropped as idle: with no cap, every address shares one.
    private static PartitionedRateLimiter<IPAddress> Unlimited() =>
        PartitionedRateLimiter.Create<IPAddress, bool>(_ => RateLimitPartition.GetNoLimiter(true));

    public void Dispose()
    {
        _sockets.Dispose();
        _joins.Dispose();
        _scrollback.Dispose();
    }
}
