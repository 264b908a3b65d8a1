namespace Chat.Orleans;

/// <summary>
/// What a gateway that may have missed events is owed (see <see cref="IRoomGrain.Rejoin"/>), taken at
/// event <see cref="Sequence"/> of activation <see cref="Epoch"/>: the roster as the room knows it, and
/// the messages relayed after the gateway's last one, oldest first, with their timestamps.
/// <see cref="Complete"/> is false when there were more than the room's resume limit: then the gateway
/// cannot close the gap in place. <see cref="Recent"/>: the messages deleted or edited lately (see
/// <c>RoomOptions.RecentDeletions</c>), whose <c>deleted</c> and <c>edited</c> events the gateway may have missed too.
/// </summary>
[GenerateSerializer, Immutable, Alias("chat.RoomCatchUp")]
public sealed record RoomCatchUp(long Epoch, long Sequence, byte[][] Roster, long[] Timestamps, byte[][] Messages, bool Complete, RecentChanges? Recent = null);
