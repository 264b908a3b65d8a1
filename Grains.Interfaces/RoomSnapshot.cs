namespace Chat.Orleans;

/// <summary>
/// What a joining session is owed, taken at event <see cref="Sequence"/> of activation
/// <see cref="Epoch"/>: a <c>joined</c> frame for each member already present, then the last messages (oldest first) as
/// ready-to-send JSON frames. The new member's own <c>joined</c> event is <see cref="Sequence"/> + 1.
/// </summary>
[GenerateSerializer, Immutable, Alias("chat.RoomSnapshot")]
public sealed record RoomSnapshot(long Epoch, long Sequence, byte[][] Roster, byte[][] History);
