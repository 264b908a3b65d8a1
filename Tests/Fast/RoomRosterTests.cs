using Chat.Orleans.Gateway.Rooms;

namespace Chat.Orleans.Tests.Fast;

/// <summary>The roster a gateway's sessions know, and what a catch-up tells them.</summary>
[Trait("Category", "Fast")]
public sealed class RoomRosterTests
{
    private readonly RoomRoster _roster = new();

    [Fact]
    public void Roster_events_are_counted_per_name_and_other_frames_ignored()
    {
        _roster.Reset([ChatFrames.Joined("ann"), ChatFrames.Joined("bob")]);
        _roster.Apply(ChatFrames.Joined("bob"));
        _roster.Apply(ChatFrames.Quit("ann"));
        _roster.Apply(ChatFrames.Message("bob", """{"joined":"x"} is not a roster event""", 1));

        Assert.Equal(0, _roster.Count("ann"));
        Assert.Equal(2, _roster.Count("bob"));
        Assert.Equal(0, _roster.Count("x"));
        Assert.Equal(2, _roster.Total);

        // A quit for a name nobody knows changes nothing, the total included, and is not for the sessions.
        Assert.False(_roster.Apply(ChatFrames.Quit("x")));
        Assert.Equal(2, _roster.Total);
    }

    [Fact]
    public void A_quit_that_a_catch_up_already_gave_the_sessions_is_not_shown_again()
    {
        _roster.Reset([ChatFrames.Joined("ann"), ChatFrames.Joined("eve")]);

        // The roster check after a move quit eve before the room itself had heard her leave.
        Assert.Equal(["""{"quit":"eve"}"""], _roster.Reconcile([ChatFrames.Joined("ann")], removals: true).Select(Text));

        // Then the room's own quit arrives: not shown; ann's would be.
        Assert.False(_roster.Apply(ChatFrames.Quit("eve")));
        Assert.True(_roster.Apply(ChatFrames.Quit("ann")));
        Assert.True(_roster.Apply(ChatFrames.Message("ann", "hi", 1)));
        Assert.Equal(0, _roster.Total);
    }

    [Fact]
    public void After_a_move_only_members_the_sessions_lack_are_announced()
    {
        // The new activation knows cid (joined during the move) but not yet dan (his gateway has not
        // subscribed again) nor eve (she left during the move).
        _roster.Reset([ChatFrames.Joined("ann"), ChatFrames.Joined("dan"), ChatFrames.Joined("eve")]);

        var changes = _roster.Reconcile([ChatFrames.Joined("ann"), ChatFrames.Joined("cid")], removals: false);

        Assert.Equal(["""{"joined":"cid"}"""], changes.Select(Text));
        Assert.Equal(1, _roster.Count("dan"));
        Assert.Equal(1, _roster.Count("eve"));
    }

    [Fact]
    public void Once_the_roster_is_whole_members_who_left_are_quit_once_and_names_count_twice()
    {
        _roster.Reset([ChatFrames.Joined("ann"), ChatFrames.Joined("ann"), ChatFrames.Joined("eve")]);

        var changes = _roster.Reconcile([ChatFrames.Joined("ann"), ChatFrames.Joined("bob"), ChatFrames.Joined("bob")], removals: true);

        Assert.Equal(["""{"joined":"bob"}""", """{"joined":"bob"}""", """{"quit":"ann"}""", """{"quit":"eve"}"""], changes.Select(Text));
        Assert.Empty(_roster.Reconcile([ChatFrames.Joined("ann"), ChatFrames.Joined("bob"), ChatFrames.Joined("bob")], removals: true));
        Assert.Equal(3, _roster.Total);
    }

    private static string Text(byte[] frame) => System.Text.Encoding.UTF8.GetString(frame);
}
