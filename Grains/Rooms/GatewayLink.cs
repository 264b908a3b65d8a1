namespace Chat.Orleans.Grains.Rooms;

/// <summary>
/// The room's side of one gateway's subscription: its members, its lease, and the room's events not yet
/// sent to it.
/// </summary>
/// <remarks>
/// Members, version and lease belong to the room's turns. The pending events belong to the gateway's
/// <see cref="GatewayChannel"/>, which sends them together with other rooms' events, and are touched only
/// under its lock.
/// </remarks>
internal sealed class GatewayLink(Guid gatewayId, string room, long epoch, long nextSequence, GatewayChannel channel)
{
    public Guid GatewayId { get; } = gatewayId;

    public GatewayChannel Channel { get; } = channel;

    public long Version { get; set; } = long.MinValue;

    public long LeaseExpires { get; set; }

    public Dictionary<long, RoomMemberEntry> Members { get; } = [];

    // Under the channel's lock: the frames waiting for the channel's next call and the number of the first.
    internal List<byte[]> Pending { get; } = [];

    internal long NextSequence { get; set; } = nextSequence;

    internal long LastMessageTimestamp { get; set; }

    // Listed in the channel's next call; detached links list nothing more.
    internal bool Waiting { get; set; }

    internal bool Detached { get; set; }

    /// <summary>Under the channel's lock: the pending frames as one batch of this room's events.</summary>
    internal RoomEvents TakePending()
    {
        var events = new RoomEvents(room, epoch, NextSequence, [.. Pending], LastMessageTimestamp);
        NextSequence += Pending.Count;
        Pending.Clear();
        LastMessageTimestamp = 0;
        Waiting = false;
        return events;
    }
}
