using Chat.Orleans.Gateway;
using Chat.Orleans.Gateway.Rooms;
using Microsoft.Extensions.DependencyInjection;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.Logging.Abstractions;

namespace Chat.Orleans.Tests.Fast;

/// <summary>The gateway's side of a room after a move, with a room that answers as told: no silo, socket or database.</summary>
[Trait("Category", "Fast")]
public sealed class RoomSubscriptionTests
{
    private const long OldEpoch = 1;
    private const long NewEpoch = 2;

    // The room may stay out of reach this long before its sessions are sent away to reconnect.
    private static readonly TimeSpan UnreachableTimeout = TimeSpan.FromSeconds(3);

    [Fact]
    public async Task A_catch_up_whose_first_call_hangs_for_the_whole_bound_sends_it_again_and_keeps_its_sessions()
    {
        // Seen in the SIGKILL continuity test: right after the kill, the catch-up's call through the
        // surviving silo got no answer until the call timeout, which was also the catch-up's whole bound;
        // the catch-up gave up and closed its room's sockets, while the same call sent a little later
        // answered at once.
        var room = new Room();
        room.Rejoins.Enqueue(async () =>
        {
            await Task.Delay(UnreachableTimeout);
            throw new TimeoutException("Response did not arrive on time.");
        });
        room.Rejoins.Enqueue(() => Task.FromResult(new RoomCatchUp(NewEpoch, 3, [ChatFrames.Joined("ann")], [], [], Complete: true)));
        var session = new Session();
        var subscription = Subscription(room);
        await subscription.JoinAsync(session, new RoomMember(1, "ann"), since: null);

        subscription.OnActivationEnded(OldEpoch);

        Assert.Equal("caught up", await session.Outcome.Task.WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.Equal(2, room.RejoinCalls);
    }

    private static RoomSubscription Subscription(Room room)
    {
        var metrics = new GatewayMetrics(new ServiceCollection().AddMetrics().BuildServiceProvider().GetRequiredService<IMeterFactory>());
        var timing = new RoomSubscription.Timing(UnreachableTimeout, RosterCheckDelay: TimeSpan.FromMinutes(1));
        return new RoomSubscription("room", room, Guid.NewGuid(), new Observer(), timing, new SiloConnections(NullLogger<SiloConnections>.Instance), metrics, NullLogger.Instance);
    }

    /// <summary>A room on its old activation that answers each catch-up call with the next of <see cref="Rejoins"/>.</summary>
    private sealed class Room : IRoomGrain
    {
        public Queue<Func<Task<RoomCatchUp>>> Rejoins { get; } = new();

        public int RejoinCalls { get; private set; }

        public Task<RoomSnapshot> Join(GatewaySubscription subscription, RoomMember member, long? since = null) =>
            Task.FromResult(new RoomSnapshot(OldEpoch, 1, [], [], LastRelayed: 5));

        public Task<RoomCatchUp> Rejoin(GatewaySubscription subscription, RoomMember[] members, long since)
        {
            RejoinCalls++;
            return Rejoins.Dequeue()();
        }

        public Task<RoomRenewal> Renew(GatewaySubscription subscription, RoomMember[] members) => Task.FromResult(new RoomRenewal(NewEpoch, members.Length));

        public Task Leave(Guid gatewayId, long version, long sessionId) => Task.CompletedTask;

        public Task<long> Post(string name, string message, string? key = null, string? user = null) => Task.FromResult(0L);

        public Task<DeleteOutcome> Delete(long timestamp, string actor, string? requiredAuthor) => Task.FromResult(new DeleteOutcome(DeleteResult.NoSuchMessage, null));

        public Task Close() => Task.CompletedTask;

        public Task Typing(string name, string? user) => Task.CompletedTask;

        public Task<ChangeResult> Edit(long timestamp, string message, string user) => Task.FromResult(ChangeResult.NoSuchMessage);

        public Task<ChangeResult> React(long timestamp, string emoji, string person) => Task.FromResult(ChangeResult.NoSuchMessage);

        public Task<byte[]> Presence() => Task.FromResult(ChatFrames.Presence([]));
    }

    /// <summary>A live session: it has shown messages up to timestamp 5, and says how its catch-up ended.</summary>
    private sealed class Session : IRoomListener
    {
        public TaskCompletionSource<string> Outcome { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public long? LastMessageTimestamp => 5;

        public void OnEvents(RoomEvents events)
        {
        }

        public void OnCatchUp(RoomCatchUp catchUp, List<byte[]> rosterChanges, bool moved) => Outcome.TrySetResult("caught up");

        public void TrackRoster()
        {
        }

        public void OnResync() => Outcome.TrySetResult("sent away to reconnect");

        public void OnRoomClosed() => Outcome.TrySetResult("closed");
    }

    private sealed class Observer : IGatewayObserver
    {
        public Task OnEvents(RoomEvents[] batch) => Task.CompletedTask;

        public Task OnActivationEnded(string room, long epoch) => Task.CompletedTask;

        public Task OnRoomClosed(string room) => Task.CompletedTask;
    }
}
