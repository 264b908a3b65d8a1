using System.ComponentModel.DataAnnotations;

namespace Chat.Orleans.Grains.Directory;

public sealed class DirectoryOptions
{
    public const string Section = "Chat:Directory";

    /// <summary>
    /// How often each silo reports its rooms' member counts: the directory is at most about this old
    /// (PROTOCOL.md allows 10 s).
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:00:10")]
    public TimeSpan ReportPeriod { get; set; } = TimeSpan.FromSeconds(3);

    /// <summary>
    /// A silo's report counts for this long: a silo that died (and so stopped reporting) leaves the list
    /// after it, while its rooms come back in the report of the silo they moved to.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:01:00")]
    public TimeSpan ReportLifetime { get; set; } = TimeSpan.FromSeconds(10);
}
