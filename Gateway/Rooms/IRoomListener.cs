namespace Chat.Orleans.Gateway.Rooms;

/// <summary>
/// A session in a room, as the gateway's subscription to that room sees it. The subscription calls it
/// for one thing at a time, in the room's order.
/// </summary>
public interface IRoomListener
{
    /// <summary>
    /// The timestamp of the newest chat message this listener has sent its client, or null before its
    /// join's snapshot (then it has nothing to catch up on).
    /// </summary>
    long? LastMessageTimestamp { get; }

    /// <summary>A batch of the room's events, in order. Events this listener already has are skipped by it.</summary>
    void OnEvents(RoomEvents events);

    /// <summary>
    /// The room moved (<paramref name="moved"/>) or events were lost on the way: <paramref name="catchUp"/>
    /// holds the messages relayed meanwhile and <paramref name="rosterChanges"/> the <c>joined</c> and
    /// <c>quit</c> frames that bring this gateway's sessions to the room's roster. Only listeners that
    /// were past their snapshot when the catch-up began get it: each sends the messages it lacks and the
    /// roster changes, and follows on from there.
    /// </summary>
    void OnCatchUp(RoomCatchUp catchUp, List<byte[]> rosterChanges, bool moved);

    /// <summary>
    /// Called before the join's snapshot when the room is settling after a move: the listener keeps the
    /// roster it sends, and takes its own difference with the room's at the next roster check, since its
    /// snapshot may lack members the gateway's other sessions know (their gateway had not subscribed to
    /// the new activation yet).
    /// </summary>
    void TrackRoster();

    /// <summary>The gap could not be closed in place (too many missed messages, or the room stayed out of reach): start over.</summary>
    void OnResync();

    /// <summary>The room was closed by an admin: the session ends (1000).</summary>
    void OnRoomClosed();
}
