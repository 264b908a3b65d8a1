using System.Runtime.CompilerServices;
using System.Text;
using Chat.Orleans.Gateway.Rooms;

namespace Chat.Orleans.Tests.Grains;

/// <summary>One room event as an observer received it: its activation, its number, its JSON frame, its room.</summary>
public sealed record ReceivedEvent(long Epoch, long Sequence, string Frame, string Room)
{
    public override string ToString() => $"{Sequence}:{Frame}";
}

/// <summary>What tests ask of received events.</summary>
public static class ReceivedEvents
{
    public static bool IsMessage(ReceivedEvent e) => e.Frame.StartsWith("{\"name\":", StringComparison.Ordinal);

    /// <summary>All events of one activation, numbered without gaps or repeats.</summary>
    public static void AssertContiguous(IReadOnlyList<ReceivedEvent> events)
    {
        for (var i = 1; i < events.Count; i++)
        {
            Assert.True(
                events[i].Epoch == events[0].Epoch && events[i].Sequence == events[i - 1].Sequence + 1,
                $"event {i} is {events[i]} (epoch {events[i].Epoch}) after {events[i - 1]} (epoch {events[i - 1].Epoch})");
        }
    }
}

/// <summary>
/// A room observer that records every event it receives and lets a test wait (with a timeout) until what
/// it received satisfies a condition.
/// </summary>
public sealed class RecordingObserver : IGatewayObserver
{
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(20);

    private readonly Lock _lock = new();
    private readonly List<ReceivedEvent> _events = [];
    private readonly List<IReadOnlyList<ReceivedEvent>> _batches = [];
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Runs on each batch before it is recorded, while the room awaits the call.</summary>
    public Func<IReadOnlyList<ReceivedEvent>, Task>? OnBatch { get; set; }

    /// <summary>Every call received, in order: the events each one carried (of any number of rooms).</summary>
    public IReadOnlyList<IReadOnlyList<ReceivedEvent>> Batches
    {
        get
        {
            lock (_lock)
            {
                return [.. _batches];
            }
        }
    }

    public IReadOnlyList<ReceivedEvent> Events
    {
        get
        {
            lock (_lock)
            {
                return [.. _events];
            }
        }
    }

    public async Task OnEvents(RoomEvents[] roomEvents)
    {
        var batch = new List<ReceivedEvent>();
        foreach (var events in roomEvents)
        {
            for (var i = 0; i < events.Frames.Length; i++)
            {
                batch.Add(new ReceivedEvent(events.Epoch, events.FirstSequence + i, Encoding.UTF8.GetString(events.Frames[i]), events.Room));
            }
        }

        if (OnBatch is { } onBatch)
        {
            await onBatch(batch);
        }

        TaskCompletionSource changed;
        lock (_lock)
        {
            _events.AddRange(batch);
            _batches.Add(batch);
            changed = _changed;
            _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
        }

        changed.TrySetResult();
    }

    /// <summary>Activations that told this observer they were ending.</summary>
    public List<long> EndedEpochs { get; } = [];

    public Task OnRoomClosed(string room) => Task.CompletedTask;

    public Task OnActivationEnded(string room, long epoch)
    {
        lock (_lock)
        {
            EndedEpochs.Add(epoch);
        }

        return Task.CompletedTask;
    }

    /// <summary>Waits until the events received so far satisfy <paramref name="condition"/>, and returns them.</summary>
    public async Task<IReadOnlyList<ReceivedEvent>> WaitUntilAsync(
        Func<IReadOnlyList<ReceivedEvent>, bool> condition,
        TimeSpan? timeout = null,
        [CallerArgumentExpression(nameof(condition))] string? description = null)
    {
        using var cancellation = new CancellationTokenSource(timeout ?? DefaultTimeout);
        while (true)
        {
            ReceivedEvent[] events;
            Task changed;
            lock (_lock)
            {
                events = [.. _events];
                changed = _changed.Task;
            }

            if (condition(events))
            {
                return events;
            }

            try
            {
                await changed.WaitAsync(cancellation.Token);
            }
            catch (OperationCanceledException)
            {
                throw new TimeoutException(
                    $"Timed out waiting for {description}; received {events.Length} events: {string.Join(" ", events.TakeLast(20))}");
            }
        }
    }

    /// <summary>Waits until an event with this exact frame has arrived, and returns it.</summary>
    public async Task<ReceivedEvent> WaitForFrameAsync(byte[] frame, TimeSpan? timeout = null)
    {
        var text = Encoding.UTF8.GetString(frame);
        var events = await WaitUntilAsync(events => events.Any(e => e.Frame == text), timeout, "frame " + text);
        return events.First(e => e.Frame == text);
    }
}

/// <summary>
/// What a real gateway is to a room, reduced to one room: a gateway id, one observer subscribed to the
/// room, and the gateway's local members with their version (the gateway's own <see cref="MemberList"/>).
/// Optionally renews its subscription on a timer, as a real gateway does.
/// </summary>
public sealed class TestGateway : IAsyncDisposable
{
    private readonly IClusterClient _client;
    private readonly Lock _lock = new();
    private readonly MemberList _members = new();
    private readonly Dictionary<string, long> _sessions = [];
    private long _nextSessionId;
    private CancellationTokenSource? _renewing;
    private Task _renewLoop = Task.CompletedTask;

    /// <param name="sharing">Another room of the same gateway: this one takes its id and observer, as a
    /// real gateway has one observer for all its rooms.</param>
    public TestGateway(IClusterClient client, string room, bool renew = true, TestGateway? sharing = null)
    {
        _client = client;
        Room = client.GetGrain<IRoomGrain>(room);
        _ownsReference = sharing is null;
        Id = sharing?.Id ?? Guid.NewGuid();
        Observer = sharing?.Observer ?? new RecordingObserver();
        Reference = sharing?.Reference ?? client.CreateObjectReference<IGatewayObserver>(Observer);
        if (renew)
        {
            StartRenewing();
        }
    }

    private readonly bool _ownsReference;

    public Guid Id { get; }

    public IRoomGrain Room { get; }

    /// <summary>Strongly held for as long as the gateway lives (the reference alone does not keep it).</summary>
    public RecordingObserver Observer { get; }

    public IGatewayObserver Reference { get; }

    private int _failedRenewals;

    /// <summary>Renewals that failed (a renewal loop that silently failed would make lease tests lie).</summary>
    public int FailedRenewals => Volatile.Read(ref _failedRenewals);

    public async Task<RoomSnapshot> JoinAsync(string name)
    {
        RoomMember member;
        lock (_lock)
        {
            member = new RoomMember(++_nextSessionId, name);
            _sessions.Add(name, member.SessionId);
        }

        var version = _members.Add(member);
        var snapshot = await Room.Join(new GatewaySubscription(Id, Reference, version), member);
        _members.Joined(member.SessionId);
        return snapshot;
    }

    public async Task LeaveAsync(string name)
    {
        long sessionId;
        lock (_lock)
        {
            sessionId = _sessions[name];
            _sessions.Remove(name);
        }

        var version = _members.Remove(sessionId);
        await Room.Leave(Id, version, sessionId);
    }

    /// <summary>One renewal carrying the current member list, as the gateway's timer sends it.</summary>
    public Task<RoomRenewal> RenewAsync() => RenewAsync(_members.Read());

    /// <summary>A renewal of a member list read earlier (one that a leave may have overtaken on the way).</summary>
    public Task<RoomRenewal> RenewAsync((RoomMember[] Members, long Version) list) =>
        Room.Renew(new GatewaySubscription(Id, Reference, list.Version), list.Members);

    /// <summary>The member list and its version, as a renewal would carry them now.</summary>
    public (RoomMember[] Members, long Version) ReadMembers() => _members.Read();

    public void StartRenewing()
    {
        if (_renewing is not null)
        {
            return;
        }

        _renewing = new CancellationTokenSource();
        var token = _renewing.Token;
        _renewLoop = Task.Run(async () =>
        {
            using var timer = new PeriodicTimer(GrainClusterFixture.RenewalPeriod);
            try
            {
                while (await timer.WaitForNextTickAsync(token))
                {
                    if (_members.Read().Members.Length == 0)
                    {
                        continue;
                    }

                    try
                    {
                        await RenewAsync();
                    }
                    catch
                    {
                        Interlocked.Increment(ref _failedRenewals);
                    }
                }
            }
            catch (OperationCanceledException)
            {
            }
        });
    }

    public async Task StopRenewingAsync()
    {
        if (_renewing is { } renewing)
        {
            await renewing.CancelAsync();
            await _renewLoop;
            renewing.Dispose();
            _renewing = null;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopRenewingAsync();
        if (_ownsReference)
        {
            _client.DeleteObjectReference<IGatewayObserver>(Reference);
        }
    }
}
