using System.ComponentModel.DataAnnotations;

namespace Chat.Orleans.Grains.Rooms;

public sealed class RoomOptions
{
    public const string Section = "Chat:Room";

    /// <summary>Messages a joining session receives (the protocol says 100).</summary>
    [Range(0, 10_000)]
    public int HistoryLength { get; set; } = 100;

    /// <summary>
    /// Messages a resuming session (a name frame with <c>since</c>) receives at most; with more to catch
    /// up it gets the newest <see cref="HistoryLength"/> and <c>{"resumed":false}</c>, and pages back.
    /// </summary>
    [Range(1, 100_000)]
    public int ResumeLimit { get; set; } = 1000;

    /// <summary>Distinct emoji one message may carry (PROTOCOL.md, "Reactions", says 20).</summary>
    [Range(1, 100)]
    public int MaxReactionEmoji { get; set; } = 20;

    /// <summary>
    /// How far back a catch-up and a resume report deletions: a client that missed the <c>deleted</c> event
    /// (its room moved, or it was away) is told again about messages deleted this recently. It takes no
    /// note of which deletions a client saw, so the bound keeps the list short.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00", "1.00:00:00")]
    public TimeSpan RecentDeletions { get; set; } = TimeSpan.FromMinutes(15);

    /// <summary>
    /// How long a gateway's subscription lives without renewal. When it lapses, the gateway is taken
    /// for dead and its members quit. Gateways renew at a fraction of this.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00")]
    public TimeSpan SubscriptionLease { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Events of one room queued for one gateway while that gateway has not acknowledged the previous
    /// call of its channel. Past this they are dropped; the gateway sees the gap in the room's sequence
    /// numbers and catches up.
    /// </summary>
    [Range(16, 10_000_000)]
    public int MaxPendingEventsPerGateway { get; set; } = 50_000;
}
