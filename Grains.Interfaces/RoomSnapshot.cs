namespace Chat.Orleans;

/// <summary>
/// What a joining session is owed, taken at event <see cref="Sequence"/> of activation
/// <see cref="Epoch"/>: a <c>joined</c> frame for each member already present, then the last messages (oldest first) as
/// ready-to-send JSON frames. The new member's own <c>joined</c> event is <see cref="Sequence"/> + 1.
/// <see cref="LastRelayed"/> is the timestamp of the newest message relayed before the snapshot (0 if
/// none): the session has it, in <see cref="History"/> or from before its resume.
/// <see cref="Resumed"/> answers a join that asked to resume (PROTOCOL.md, "Resume"): true when
/// <see cref="History"/> holds every message after the client's <c>since</c>, false when there were too
/// many (then it holds the newest ones, as a plain join does); null for a plain join. A resume also gets
/// <see cref="Recent"/>: the messages deleted or edited lately, which the client may still show as they were.
/// </summary>
[GenerateSerializer, Immutable, Alias("chat.RoomSnapshot")]
public sealed record RoomSnapshot(long Epoch, long Sequence, byte[][] Roster, byte[][] History, long LastRelayed = 0, bool? Resumed = null, RecentChanges? Recent = null);
