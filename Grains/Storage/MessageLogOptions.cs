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
}
