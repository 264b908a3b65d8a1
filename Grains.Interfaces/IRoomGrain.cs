using Orleans.Concurrency;

namespace Chat.Orleans;

/// <summary>
/// One chat room: the single owner of its members, ordering, timestamps and history.
/// Public rooms are keyed by name, private rooms by their 64-hex id.
/// </summary>
/// <remarks>
/// Every call from a gateway carries that gateway's subscription <c>version</c>, which grows with each
/// change of its local member list; the room uses it to ignore a renewal that was overtaken by a newer
/// join or leave, so a late renewal never evicts a member who has just joined.
/// </remarks>
[Alias("chat.IRoomGrain")]
public interface IRoomGrain : IGrainWithStringKey
{
    /// <summary>
    /// Adds a named member and announces it with a <c>joined</c> event. The returned snapshot holds the
    /// roster and history as they stood just before that event, so the gateway can order what it owes
    /// the new session without gaps or doubles. With <paramref name="since"/> (a client resuming), the
    /// history is every message after that timestamp instead, up to the room's resume limit.
    /// </summary>
    [Alias("Join")]
    Task<RoomSnapshot> Join(GatewaySubscription subscription, RoomMember member, long? since = null);

    /// <summary>Removes a member (socket closed or broken) and announces it with a <c>quit</c> event.</summary>
    [Alias("Leave")]
    Task Leave(Guid gatewayId, long version, long sessionId);

    /// <summary>
    /// Stores a message and relays it to every member, in that order. Completes with the message's
    /// timestamp once it is durably stored; fails when it could not be stored (and then it was not relayed).
    /// A post whose <paramref name="key"/> (see <see cref="PostKeys"/>) the room already stored is neither
    /// stored nor relayed again, and completes with the first one's timestamp: so a post may be retried
    /// safely. <paramref name="user"/> is the verified author's user id, null for an anonymous one.
    /// </summary>
    [Alias("Post")]
    Task<long> Post(string name, string message, string? key = null, string? user = null);

    /// <summary>
    /// Deletes the message with <paramref name="timestamp"/> (PROTOCOL.md, "Moderation"): its log row keeps a
    /// tombstone by <paramref name="actor"/>, it leaves the history, and every member gets <c>deleted</c>.
    /// <paramref name="requiredAuthor"/> is the user id the message must be by (a verified author deleting
    /// their own); null deletes any (a moderator, checked by the gateway).
    /// </summary>
    [Alias("Delete")]
    Task<DeleteOutcome> Delete(long timestamp, string actor, string? requiredAuthor);

    /// <summary>
    /// Someone is typing (PROTOCOL.md, "Typing"): members with the typing capability get a <c>typing</c>
    /// frame; never stored. One-way: nobody waits for a hint that may be lost.
    /// </summary>
    [OneWay, Alias("Typing")]
    Task Typing(string name, string? user);

    /// <summary>
    /// Replaces the text of the message with <paramref name="timestamp"/> by its verified author
    /// <paramref name="user"/> (PROTOCOL.md, "Edits"): the log keeps the earlier text, history, resume and
    /// scrollback carry the new one, and members with the edits capability get <c>edited</c>.
    /// </summary>
    [Alias("Edit")]
    Task<ChangeResult> Edit(long timestamp, string message, string user);

    /// <summary>
    /// Toggles the reaction <paramref name="emoji"/> of <paramref name="person"/> (a verified user, or a
    /// name for anonymous sessions: <see cref="People.Key"/>) on the message with
    /// <paramref name="timestamp"/> (PROTOCOL.md, "Reactions"): stored, and members with the reactions
    /// capability get the message's new counts.
    /// </summary>
    [Alias("React")]
    Task<ChangeResult> React(long timestamp, string emoji, string person);

    /// <summary>The room's people now, one entry per person with a socket count, as a <c>presence</c> frame.</summary>
    [Alias("Presence")]
    Task<byte[]> Presence();

    /// <summary>
    /// Closes the room (PROTOCOL.md, "Close a room"): its history is erased, every gateway closes its
    /// members' sockets, and the name may be used again later as a new, empty room.
    /// </summary>
    [Alias("Close")]
    Task Close();

    /// <summary>
    /// Keeps a gateway's subscription alive and carries its member list, so that a room re-activated
    /// elsewhere regains its subscribers and roster. Returns the activation's epoch (a gateway that
    /// knew another one learns that the room moved and that its sessions may have missed events) and
    /// the room's member count.
    /// </summary>
    [Alias("Renew")]
    Task<RoomRenewal> Renew(GatewaySubscription subscription, RoomMember[] members);

    /// <summary>
    /// Subscribes again a gateway that may have missed events: the room moved to a new activation, or
    /// events were lost on the way. Lists the gateway's members silently, as <see cref="Renew"/> does (the
    /// clients already know them), and returns the roster and every message relayed after
    /// <paramref name="since"/> (the newest one the gateway delivered), up to the room's resume limit, so
    /// that the gateway closes the gap in place instead of closing its sockets.
    /// </summary>
    [Alias("Rejoin")]
    Task<RoomCatchUp> Rejoin(GatewaySubscription subscription, RoomMember[] members, long since);
}
