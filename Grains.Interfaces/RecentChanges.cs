namespace Chat.Orleans;

/// <summary>
/// A room's recent changes to messages a session may already show (see <c>RoomOptions.RecentDeletions</c>):
/// the timestamps of those deleted, an <c>edited</c> frame for each edited one, and a <c>reactions</c> frame
/// (the counts now) for each one whose reactions changed, oldest first. A session that may have missed the
/// live events (its room moved, or it resumes) is told again.
/// </summary>
[GenerateSerializer, Immutable, Alias("chat.RecentChanges")]
public sealed record RecentChanges(long[] Deleted, long[] EditedTimestamps, byte[][] Edited, long[]? ReactedTimestamps = null, byte[][]? Reactions = null)
{
    public static readonly RecentChanges None = new([], [], []);

    public int Count => Deleted.Length + Edited.Length + (Reactions?.Length ?? 0);
}
