using System.ComponentModel.DataAnnotations;

namespace Chat.Orleans.Grains.Storage;

public sealed class MessageLogOptions
{
    public const string Section = "Chat:MessageLog";

    /// <summary>Most messages written in one round trip; more wait for the next one.</summary>
    [Range(1, 100_000)]
    public int MaxBatchSize { get; set; } = 2000;

    /// <summary>
    /// How long one write may take before its messages fail. Short, because the senders are waiting
    /// and a storage outage must turn into an error frame, not a hung message.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:05:00")]
    public TimeSpan CommandTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// How long a write (and a read) is tried again while the database is out of reach: a restart, or a
    /// failover to the standby (about 6 s with scripts/postgres-ha.sh). Posts wait through it instead of
    /// failing; past it their senders get "could not be stored". At most the gateway's
    /// <c>PostRetryTimeout</c>, which bounds how long a sender waits for an answer.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:05:00")]
    public TimeSpan OutageTimeout { get; set; } = TimeSpan.FromSeconds(10);
}
