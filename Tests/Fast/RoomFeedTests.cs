using Chat.Orleans.Gateway.Sessions;

namespace Chat.Orleans.Tests.Fast;

/// <summary>The protocol's join order, without a room, a socket or a database.</summary>
[Trait("Category", "Fast")]
public sealed class RoomFeedTests
{
    private const long Epoch = 42;

    private readonly RecordingSink _client = new();
    private readonly RoomFeed _feed;

    public RoomFeedTests() => _feed = new RoomFeed(_client);

    [Fact]
    public void Join_sends_roster_then_history_then_waiting_events_then_own_joined_then_ready()
    {
        // Events of the room while the join call is on its way: a message the snapshot already has
        // (3), this session's own joined (4, right after the snapshot), and a message after it (5).
        _feed.OnEvents(Events(3, Message("old", 3)));
        _feed.OnEvents(Events(4, Joined("me"), Message("new", 5)));
        Assert.Empty(_client.Frames);

        _feed.OnSnapshot(Snapshot(sequence: 3, roster: [Joined("ann")], history: [Message("first", 1), Message("old", 3)]));

        Assert.Equal(
            [Text(Joined("ann")), Text(Message("first", 1)), Text(Message("old", 3)), Text(Joined("me")), """{"ready":true}""", Text(Message("new", 5))],
            _client.Frames);
        Assert.True(_feed.IsLive);
    }

    [Fact]
    public void Ready_waits_for_own_joined_when_the_snapshot_comes_first()
    {
        _feed.OnSnapshot(Snapshot(sequence: 7, roster: [], history: [Message("hi", 1)]));
        Assert.Equal([Text(Message("hi", 1))], _client.Frames);
        Assert.False(_feed.IsLive);

        _feed.OnEvents(Events(8, Joined("me"), Message("after", 9)));

        Assert.Equal([Text(Message("hi", 1)), Text(Joined("me")), """{"ready":true}""", Text(Message("after", 9))], _client.Frames);
    }

    [Fact]
    public void Events_the_snapshot_holds_are_dropped_even_when_they_arrive_after_it()
    {
        // The join's reply can overtake an observer call that is still on its way.
        _feed.OnSnapshot(Snapshot(sequence: 5, roster: [Joined("ann")], history: [Message("m", 5)]));
        _feed.OnEvents(Events(5, Message("m", 5)));
        _feed.OnEvents(Events(6, Joined("me")));

        Assert.Equal([Text(Joined("ann")), Text(Message("m", 5)), Text(Joined("me")), """{"ready":true}"""], _client.Frames);
    }

    [Fact]
    public void Live_events_pass_straight_through_in_order()
    {
        _feed.OnSnapshot(Snapshot(sequence: 0, roster: [], history: []));
        _feed.OnEvents(Events(1, Joined("me")));
        _feed.OnEvents(Events(2, Message("a", 2), Message("b", 3)));
        _feed.OnEvents(Events(4, Joined("bob")));

        Assert.Equal(
            [Text(Joined("me")), """{"ready":true}""", Text(Message("a", 2)), Text(Message("b", 3)), Text(Joined("bob"))],
            _client.Frames);
    }

    [Fact]
    public void A_resumed_join_says_so_right_before_ready()
    {
        _feed.OnSnapshot(new RoomSnapshot(Epoch, 2, [], [Message("missed", 2)], Resumed: true));
        _feed.OnEvents(Events(3, Joined("me")));

        Assert.Equal([Text(Message("missed", 2)), Text(Joined("me")), """{"resumed":true}""", """{"ready":true}"""], _client.Frames);
    }

    [Fact]
    public void Nothing_is_sent_before_the_snapshot()
    {
        _feed.OnEvents(Events(1, Joined("bob")));
        _feed.OnEvents(Events(2, Message("early", 2)));

        Assert.Empty(_client.Frames);
        Assert.False(_feed.IsLive);
    }

    private static RoomEvents Events(long firstSequence, params byte[][] frames) => new(Epoch, firstSequence, frames, 0);

    private static RoomSnapshot Snapshot(long sequence, byte[][] roster, byte[][] history) => new(Epoch, sequence, roster, history);

    private static byte[] Message(string text, long timestamp) => ChatFrames.Message("ann", text, timestamp);

    private static byte[] Joined(string name) => ChatFrames.Joined(name);

    private static string Text(byte[] frame) => System.Text.Encoding.UTF8.GetString(frame);
}
