namespace Chat.Orleans.Gateway.Rooms;

/// <summary>
/// One session's place in a room, from its join to its leave: it posts in the member's name, and
/// disposing it leaves the room (the other members see <c>quit</c>). Made by <see cref="RoomRegistry.JoinAsync"/>.
/// </summary>
public sealed class RoomMembership : IAsyncDisposable
{
    private readonly RoomRegistry _registry;
    private readonly RoomSubscription _subscription;
    private readonly IRoomListener _listener;
    private readonly RoomMember _member;
    private int _left;

    internal RoomMembership(RoomRegistry registry, RoomSubscription subscription, IRoomListener listener, RoomMember member)
    {
        _registry = registry;
        _subscription = subscription;
        _listener = listener;
        _member = member;
    }

    /// <summary>
    /// Stores the message and relays it to every member of the room. The task only acknowledges that it
    /// was stored: the message itself comes back like any other, as a room event to every member, the
    /// sender included, so nothing here sends it. Fails when it could not be stored (then nobody got it).
    /// </summary>
    public Task PostAsync(string message) => _subscription.PostAsync(_member.Name, message);

    /// <summary>Leaves the room, once.</summary>
    public ValueTask DisposeAsync() =>
        Interlocked.Exchange(ref _left, 1) == 0 ? new ValueTask(_registry.LeaveAsync(_subscription, _listener, _member)) : ValueTask.CompletedTask;
}
