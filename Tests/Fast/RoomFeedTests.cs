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
    public async Task An_event_that_arrives_during_the_snapshot_hand_over_comes_after_the_events_that_waited()
    {
        // Seen in a fault test as a message shown out of order on a socket that never reconnected. Events
        // 4 (this session's own joined) and 5 waited for the snapshot. The hand-over goes live right after
        // 4; right before it sends 5, the subscription hands over 6 from its own thread.
        var client = new HandOverSink();
        var feed = new RoomFeed(client);
        feed.OnEvents(Events(4, Joined("me")));
        feed.OnEvents(Events(5, Message("waited", 5)));
        Task? concurrent = null;
        client.BeforeSending = (Text(Message("waited", 5)), () =>
        {
            concurrent = Task.Run(() => feed.OnEvents(Events(6, Message("live", 6))));

            // Without the fix it passes straight through at once, ahead of 5; with it, it waits for the
            // hand-over's lock, so this wait ends by its bound.
            concurrent.Wait(TimeSpan.FromMilliseconds(200));
        });

        feed.OnSnapshot(Snapshot(sequence: 3, roster: [], history: []));
        await concurrent!.WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal([Text(Joined("me")), """{"ready":true}""", Text(Message("waited", 5)), Text(Message("live", 6))], client.Frames);
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
        _feed.OnSnapshot(new RoomSnapshot(Epoch, 2, [], [Message("missed", 2)], LastRelayed: 2, Resumed: true));
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

    [Fact]
    public void A_catch_up_sends_the_messages_the_session_lacks_then_the_roster_changes_then_carries_on()
    {
        // Live, with messages up to timestamp 20 (event 3).
        _feed.OnSnapshot(new RoomSnapshot(Epoch, 1, [], [Message("old", 10)], LastRelayed: 10));
        _feed.OnEvents(Events(2, Joined("me")));
        _feed.OnEvents(new RoomEvents("room", Epoch, 3, [Message("seen", 20)], 20));
        var before = _client.Frames.Count;

        // The room moved: the new activation (event 5 and on) had 20, 30 and 40 relayed; bob left meanwhile.
        _feed.OnCatchUp(CatchUp(NewEpoch, 5, (20, "seen"), (30, "missed 1"), (40, "missed 2")), [ChatFrames.Quit("bob")], moved: true);

        // Then the held live events: 5 is already covered, 6 is new.
        _feed.OnEvents(new RoomEvents("room", NewEpoch, 5, [Message("missed 2", 40)], 40));
        _feed.OnEvents(new RoomEvents("room", NewEpoch, 6, [Message("live", 50)], 50));

        Assert.Equal([Text(Message("missed 1", 30)), Text(Message("missed 2", 40)), """{"quit":"bob"}""", Text(Message("live", 50))], _client.Frames.Skip(before));
        Assert.Equal(50, _feed.LastMessageTimestamp);
    }

    [Fact]
    public void A_catch_up_repeats_the_recent_deletions_of_messages_the_session_can_be_showing()
    {
        // Live, with messages up to timestamp 20; the room moved, and 10 was deleted meanwhile (its event
        // lost with the old activation). 30, newer than anything shown, was deleted too.
        _feed.OnSnapshot(new RoomSnapshot(Epoch, 1, [], [Message("old", 10)], LastRelayed: 10));
        _feed.OnEvents(Events(2, Joined("me")));
        _feed.OnEvents(new RoomEvents("room", Epoch, 3, [Message("seen", 20)], 20));
        var before = _client.Frames.Count;

        _feed.OnCatchUp(new RoomCatchUp(NewEpoch, 5, [], [], [], Complete: true, Recent: new RecentChanges([10, 30], [], [])), [], moved: true);

        Assert.Equal(["""{"deleted":10}"""], _client.Frames.Skip(before));
    }

    [Fact]
    public void A_session_whose_own_joined_was_lost_with_the_old_activation_is_ready_after_the_catch_up()
    {
        _feed.OnSnapshot(new RoomSnapshot(Epoch, 4, [], [], LastRelayed: 0));
        Assert.False(_feed.IsLive);

        _feed.OnCatchUp(CatchUp(NewEpoch, 2, (5, "during the move")), [Joined("me")], moved: true);

        Assert.Equal([Text(Message("during the move", 5)), Text(Joined("me")), """{"ready":true}"""], _client.Frames);
        Assert.True(_feed.IsLive);
    }

    [Fact]
    public void A_session_that_joined_the_new_activation_takes_nothing_from_a_catch_up_after_the_move()
    {
        _feed.OnSnapshot(new RoomSnapshot(NewEpoch, 7, [Joined("ann")], [Message("history", 5)], LastRelayed: 5));
        _feed.OnEvents(new RoomEvents("room", NewEpoch, 8, [Joined("me")], 0));
        var before = _client.Frames.Count;

        _feed.OnCatchUp(CatchUp(NewEpoch, 9, (5, "history")), [Joined("ann")], moved: true);

        Assert.Equal(before, _client.Frames.Count);
    }

    [Fact]
    public void A_session_that_joined_while_the_room_settled_gets_its_own_roster_difference_at_the_roster_check()
    {
        // The room moved, and this session joined the new activation before dan's gateway had subscribed
        // to it again: its snapshot lacks dan, whom the gateway's other sessions know from before.
        _feed.TrackRoster();
        _feed.OnSnapshot(new RoomSnapshot(NewEpoch, 3, [Joined("ann")], [], LastRelayed: 0));
        _feed.OnEvents(new RoomEvents("room", NewEpoch, 4, [Joined("me")], 0));
        var before = _client.Frames.Count;

        // The roster check: the room lists dan again; for the other sessions nothing changed.
        _feed.OnCatchUp(new RoomCatchUp(NewEpoch, 4, [Joined("ann"), Joined("dan"), Joined("me")], [], [], Complete: true), [], moved: false);
        Assert.Equal([Text(Joined("dan"))], _client.Frames.Skip(before));

        // From then on its roster is the gateway's: it takes the changes it is given, like every session.
        _feed.OnCatchUp(new RoomCatchUp(NewEpoch, 4, [Joined("ann"), Joined("me")], [], [], Complete: true), [ChatFrames.Quit("dan")], moved: false);
        Assert.Equal([Text(Joined("dan")), """{"quit":"dan"}"""], _client.Frames.Skip(before));
    }

    [Fact]
    public void A_session_still_waiting_for_its_snapshot_takes_nothing_from_a_catch_up()
    {
        _feed.OnCatchUp(CatchUp(Epoch, 3, (5, "x")), [Joined("ann")], moved: false);

        Assert.Empty(_client.Frames);
        Assert.Null(_feed.LastMessageTimestamp);
    }

    private const long NewEpoch = 43;

    private static RoomCatchUp CatchUp(long epoch, long sequence, params (long Timestamp, string Text)[] messages) =>
        new(epoch, sequence, [], [.. messages.Select(m => m.Timestamp)], [.. messages.Select(m => Message(m.Text, m.Timestamp))], Complete: true);

    private static RoomEvents Events(long firstSequence, params byte[][] frames) => new("room", Epoch, firstSequence, frames, 0);

    private static RoomSnapshot Snapshot(long sequence, byte[][] roster, byte[][] history) => new(Epoch, sequence, roster, history);

    private static byte[] Message(string text, long timestamp) => ChatFrames.Message("ann", text, timestamp);

    private static byte[] Joined(string name) => ChatFrames.Joined(name);

    private static string Text(byte[] frame) => System.Text.Encoding.UTF8.GetString(frame);

    /// <summary>A client that runs a callback right before one given frame is sent; thread-safe.</summary>
    private sealed class HandOverSink : Chat.Orleans.Gateway.Connections.IFrameSink
    {
        private readonly Lock _lock = new();
        private readonly List<string> _frames = [];

        public (string Frame, Action Callback)? BeforeSending { get; set; }

        public List<string> Frames
        {
            get
            {
                lock (_lock)
                {
                    return [.. _frames];
                }
            }
        }

        public void Send(byte[] frame)
        {
            var text = Text(frame);
            if (BeforeSending is { } before && before.Frame == text)
            {
                before.Callback();
            }

            lock (_lock)
            {
                _frames.Add(text);
            }
        }
    }
}
