using System.Text;
using Xunit.Abstractions;
using static Chat.Orleans.Tests.Grains.ReceivedEvents;

namespace Chat.Orleans.Tests.Grains;

/// <summary>
/// The silo's one channel per gateway (<c>GatewayOutbox</c>): the events of all its rooms travel to a
/// gateway together, one call at a time. Each room's events must still arrive once, in order and
/// numbered without gaps; a call that fails costs that gateway that call's events only, which it sees as
/// a numbered gap per room (and catches up on), and costs no other gateway anything.
/// </summary>
[Collection(GrainClusterCollection.Name)]
public sealed class GatewayChannelTests(GrainClusterFixture fixture, ITestOutputHelper output)
{
    private const int Rooms = 6;
    private const int MessagesPerRoom = 5;

    private IClusterClient Client => fixture.Client;

    [Fact]
    public async Task Events_of_many_rooms_queued_during_a_call_travel_in_the_next_one_each_room_in_order()
    {
        await using var gateway = await JoinRoomsAsync("batch", "alice");
        var observer = gateway[0].Observer;

        // Hold the channel's call in flight: while it waits, every room's events queue behind it.
        var held = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var holding = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        observer.OnBatch = async batch =>
        {
            if (batch.Any(e => e.Frame.Contains("\"hold\"", StringComparison.Ordinal)))
            {
                holding.TrySetResult();
                await held.Task;
            }
        };
        await gateway[0].Room.Post("alice", "hold");
        await holding.Task.WaitAsync(RecordingObserver.DefaultTimeout);
        var callsBefore = observer.Batches.Count;

        // Each room's posts in order, the rooms at once. A post completes once its events are queued.
        var sent = await Task.WhenAll(gateway.Select(async room =>
        {
            var frames = new List<string>();
            for (var i = 0; i < MessagesPerRoom; i++)
            {
                var message = $"m{i}";
                frames.Add(Encoding.UTF8.GetString(ChatFrames.Message("alice", message, await room.Room.Post("alice", message))));
            }

            return frames;
        }));

        held.SetResult();
        var events = await observer.WaitUntilAsync(events => events.Count(IsMessage) >= 1 + Rooms * MessagesPerRoom);

        // All of it came in the one call after the held one (recorded once its hold ended): six rooms, one call.
        var batches = observer.Batches;
        var next = batches[callsBefore + 1];
        output.WriteLine($"calls: {batches.Count}; the call after the held one carried {next.Count} events of {next.Select(e => e.Room).Distinct().Count()} rooms");
        Assert.Equal(Rooms * MessagesPerRoom, next.Count(IsMessage));
        Assert.Equal(Rooms, next.Select(e => e.Room).Distinct().Count());

        // Per room: every event once, numbered without gaps, the messages in the order posted.
        for (var i = 0; i < Rooms; i++)
        {
            var room = events.Where(e => e.Room == gateway.Names[i]).ToList();
            AssertContiguous(room);
            Assert.Equal(sent[i], room.Where(IsMessage).Select(e => e.Frame).Where(frame => !frame.Contains("\"hold\"", StringComparison.Ordinal)));
        }
    }

    [Fact]
    public async Task A_gateway_whose_call_fails_misses_only_that_calls_events_and_no_other_gateway_misses_any()
    {
        await using var failing = await JoinRoomsAsync("fail", "alice");
        await using var healthy = await JoinRoomsAsync("fail", "bob", failing.Names);

        // The failing gateway's first call with a message fails, as a call does when a gateway goes away
        // while it is on its way; its later calls go through.
        var failed = new TaskCompletionSource<IReadOnlyList<ReceivedEvent>>(TaskCreationOptions.RunContinuationsAsynchronously);
        failing[0].Observer.OnBatch = batch =>
            batch.Any(IsMessage) && failed.TrySetResult(batch) ? throw new InvalidOperationException("gateway went away") : Task.CompletedTask;

        var posts = failing.Select(async room =>
        {
            for (var i = 0; i < MessagesPerRoom; i++)
            {
                await room.Room.Post("alice", $"m{i}");
            }
        });
        await Task.WhenAll(posts);
        var lost = await failed.Task.WaitAsync(RecordingObserver.DefaultTimeout);

        var everything = await healthy[0].Observer.WaitUntilAsync(events => events.Count(IsMessage) >= Rooms * MessagesPerRoom);
        var received = failing[0].Observer.Events;
        output.WriteLine($"failed call: {lost.Count(IsMessage)} messages of {lost.Select(e => e.Room).Distinct().Count()} rooms; " +
                         $"the failing gateway received {received.Count(IsMessage)}, the healthy one {everything.Count(IsMessage)} of {Rooms * MessagesPerRoom}");

        for (var i = 0; i < Rooms; i++)
        {
            var name = failing.Names[i];

            // The healthy gateway: everything, in order, without gaps.
            var whole = everything.Where(e => e.Room == name).ToList();
            AssertContiguous(whole);
            Assert.Equal(MessagesPerRoom, whole.Count(IsMessage));

            // The failing one: exactly what the failed call did not carry, numbered where the room numbered
            // it, so the missing numbers are a gap it can see (and catch up on).
            var lostHere = lost.Where(e => e.Room == name && IsMessage(e)).Select(e => e.Sequence).ToHashSet();
            var got = (await failing[0].Observer.WaitUntilAsync(events => events.Count(e => e.Room == name && IsMessage(e)) + lostHere.Count >= MessagesPerRoom))
                .Where(e => e.Room == name && e.Sequence >= whole.Where(IsMessage).Min(e => e.Sequence)).ToList();
            Assert.Equal(
                whole.Where(IsMessage).Where(e => !lostHere.Contains(e.Sequence)).Select(e => (e.Sequence, e.Frame)),
                got.Where(IsMessage).Select(e => (e.Sequence, e.Frame)));
        }
    }

    /// <summary>One gateway (one id, one observer) with <paramref name="member"/> in each of six rooms.</summary>
    private async Task<GatewayRooms> JoinRoomsAsync(string prefix, string member, string[]? names = null)
    {
        names ??= [.. Enumerable.Range(0, Rooms).Select(i => $"{prefix}{i}-{Guid.NewGuid():N}"[..24])];
        var rooms = new List<TestGateway>();
        foreach (var name in names)
        {
            var room = new TestGateway(Client, name, sharing: rooms.FirstOrDefault());
            rooms.Add(room);
            await room.JoinAsync(member);
        }

        // Every room's own joined event has arrived: what follows is the test's.
        await rooms[0].Observer.WaitUntilAsync(events => names.All(name => events.Any(e => e.Room == name && e.Frame.Contains(member, StringComparison.Ordinal))));
        return new GatewayRooms(names, rooms);
    }

    /// <summary>One test gateway's rooms, all sharing its id and observer.</summary>
    private sealed class GatewayRooms(string[] names, List<TestGateway> rooms) : IAsyncDisposable, IEnumerable<TestGateway>
    {
        public string[] Names { get; } = names;

        public TestGateway this[int index] => rooms[index];

        public IEnumerator<TestGateway> GetEnumerator() => rooms.GetEnumerator();

        System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();

        public async ValueTask DisposeAsync()
        {
            // The owner of the observer goes last.
            for (var i = rooms.Count - 1; i >= 0; i--)
            {
                await rooms[i].DisposeAsync();
            }
        }
    }
}
