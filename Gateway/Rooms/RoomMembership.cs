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
    private readonly TimeSpan _retryFor;
    private int _left;

    internal RoomMembership(RoomRegistry registry, RoomSubscription subscription, IRoomListener listener, RoomMember member, TimeSpan retryFor)
    {
        _registry = registry;
        _subscription = subscription;
        _listener = listener;
        _member = member;
        _retryFor = retryFor;
    }

    /// <summary>
    /// Stores the message and relays it to every member of the room. The task only acknowledges that it
    /// was stored (its timestamp; 0 when its <paramref name="key"/> was stored before): the message itself
    /// comes back like any other, as a room event to every member, the sender included, so nothing here
    /// sends it. Fails when it could not be stored (then nobody got it).
    /// </summary>
    public Task<long> PostAsync(string message, string key) => _subscription.PostAsync(_member.Name, message, key, _member.User);

    /// <summary>Deletes a message of the room in this member's name (see <see cref="IRoomGrain.Delete"/>).</summary>
    public Task<DeleteOutcome> DeleteAsync(long timestamp, string actor, string? requiredAuthor) => _subscription.DeleteAsync(timestamp, actor, requiredAuthor);

    /// <summary>This member is typing (one-way: a hint that is lost costs nothing).</summary>
    public void Typing() => _subscription.Typing(_member.Name, _member.User);

    /// <summary>Edits one of this member's messages (see <see cref="IRoomGrain.Edit"/>); only verified members have any.</summary>
    public Task<ChangeResult> EditAsync(long timestamp, string message) =>
        _member.User is { } user ? _subscription.EditAsync(timestamp, message, user) : Task.FromResult(ChangeResult.NotAllowed);

    /// <summary>Toggles this member's reaction on a message (see <see cref="IRoomGrain.React"/>): per user, or per name when anonymous.</summary>
    public Task<ChangeResult> ReactAsync(long timestamp, string emoji) =>
        _subscription.ReactAsync(timestamp, emoji, People.Key(_member.Name, _member.User));

    /// <summary>
    /// Tries a post again after <see cref="PostAsync"/> failed without a verdict from the message log (the
    /// room's silo died, or the call timed out): the room comes back on another silo, and the key makes
    /// another try safe, since a room stores a key once. Gives up after
    /// <see cref="ChatGatewayOptions.PostRetryTimeout"/> from the first failure, or when the log refuses.
    /// </summary>
    public async Task<long> RetryPostAsync(string message, string key, Exception failure)
    {
        var deadline = RoomCalls.DeadlineAfter(_retryFor);
        _subscription.Suspect();
        _registry.PostRetried(_subscription.Room, failure);
        await RoomCalls.PauseBeforeRetry(1);
        return await RoomCalls.RetryAsync(() => PostAsync(message, key), deadline, exception => _registry.PostRetried(_subscription.Room, exception), RoomCalls.AttemptBound(_retryFor));
    }

    /// <summary>Leaves the room, once.</summary>
    public ValueTask DisposeAsync() =>
        Interlocked.Exchange(ref _left, 1) == 0 ? new ValueTask(_registry.LeaveAsync(_subscription, _listener, _member)) : ValueTask.CompletedTask;
}
