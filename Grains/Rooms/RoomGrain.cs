using Chat.Orleans.Grains.Directory;
using Chat.Orleans.Grains.Storage;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Concurrency;
using Orleans.Placement;

namespace Chat.Orleans.Grains.Rooms;

/// <summary>
/// One chat room. It decides membership, order and timestamps alone; messages are relayed only after
/// the message log has stored them, and each event goes once to each subscribed gateway.
/// </summary>
/// <remarks>
/// Reentrant so that messages arriving while a write is in flight join the next batch of the message
/// log instead of waiting a round trip each. Every state change below happens between awaits, so the
/// room stays single-threaded in effect.
/// </remarks>
[Reentrant]
// New rooms go to the least loaded silo, so a silo added to a running cluster takes the new rooms.
[ActivationCountBasedPlacement]
public sealed partial class RoomGrain(
    [PersistentState("room", "rooms")] IPersistentState<RoomState> state,
    MessageLog messageLog,
    GatewayOutbox outbox,
    LocalRooms localRooms,
    RoomMetrics metrics,
    IOptions<RoomOptions> options,
    ILogger<RoomGrain> logger) : Grain, IRoomGrain
{
    // What ReadUnlessInMemory answers when there is nothing to read; never changed.
    private static readonly Task<List<StoredMessage>> NothingRead = Task.FromResult(new List<StoredMessage>());
    private static readonly Task<RecentChanges> NothingChanged = Task.FromResult(RecentChanges.None);

    private readonly RoomOptions _options = options.Value;
    private readonly Dictionary<Guid, GatewayLink> _gateways = [];
    private readonly DepartedMembers _departed = new();
    // The last HistoryLength relayed messages, oldest first (for joins and resumes).
    private readonly RoomHistory _history = new(options.Value.HistoryLength);

    // Edits and reactions one at a time, so that their frames leave in the order the log took them: the
    // counts a member is shown last are the counts stored last.
    private readonly SemaphoreSlim _changes = new(1, 1);
    private long _lastEditedAt;

    // Identifies this activation, so that gateways can tell a re-activated room's event numbers
    // from the old ones.
    private readonly long _epoch = Random.Shared.NextInt64(1, long.MaxValue);
    private long _sequence;
    private long _lastTimestamp;

    // The newest message relayed to members: a resume never includes a stored message past it, which
    // reaches the members as a live event.
    private long _lastRelayedTimestamp;
    private long _messagesStored;

    // The first timestamp this activation gave a message (0: none yet). A stored message newer than the
    // last one relayed is this activation's own post in flight only from there on; an older one was
    // stored by the previous activation while it ended (a graceful stop overlaps the next activation).
    private long _firstOwnTimestamp;

    // The last append handed to the log: the log commits in order, so once it is done, all are.
    private Task _lastAppend = Task.CompletedTask;
    private int _memberCount;

    // Members that asked for each capability: with none, the room does not even make those frames.
    private int _typingMembers;
    private int _editsMembers;
    private int _reactionsMembers;

    private string Room => this.GetPrimaryKeyString();

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        var latest = await messageLog.ReadLatestAsync(Room, _options.HistoryLength, cancellationToken);
        foreach (var message in latest)
        {
            _history.Append(message, RoomHistory.Frame(message));
        }

        // The log is the truth for the last timestamp; the state covers a log whose tail was deleted.
        _lastTimestamp = Math.Max(state.State.LastTimestamp, latest.Count > 0 ? latest[^1].Timestamp : 0);
        _lastRelayedTimestamp = _lastTimestamp;

        if (!state.RecordExists)
        {
            state.State.Created = DateTimeOffset.UtcNow;
            await state.WriteStateAsync(cancellationToken);
        }

        metrics.RoomActivated();
        var checkPeriod = _options.SubscriptionLease / 3;
        this.RegisterGrainTimer(ExpireLapsedGateways, checkPeriod, checkPeriod);
    }

    public override async Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        metrics.RoomDeactivated();
        localRooms.Set(Room, 0);

        // Posts still on their way to the log are stored first, so that the gateways, told next, find
        // them in the log when they catch up with the next activation.
        try
        {
            await _lastAppend;
        }
        catch (Exception)
        {
            // Not stored: the post's caller hears of it.
        }

        // Gateways that still follow this activation subscribe to the next one at once; what they have
        // not received yet from this one they read from the log.
        foreach (var link in _gateways.Values)
        {
            link.Channel.Observer?.OnActivationEnded(Room, _epoch).Ignore();
            outbox.Release(link.Channel);
        }

        _gateways.Clear();

        if (_messagesStored == 0)
        {
            return;
        }

        state.State.LastTimestamp = _lastTimestamp;
        state.State.MessageCount += _messagesStored;
        try
        {
            await state.WriteStateAsync(cancellationToken);
        }
        catch (Exception exception)
        {
            // Harmless: the next activation reads the last timestamp from the message log.
            LogStateNotSaved(logger, exception, Room);
        }
    }

    public async Task<RoomSnapshot> Join(GatewaySubscription subscription, RoomMember member, long? since = null)
    {
        // A resume that the history in memory cannot answer reads the log first. Everything after that
        // read happens in one turn, so the history, the roster and the joined event agree.
        // A resuming client may still show messages deleted or edited while it was away: it is told again.
        var changes = since is null ? NothingChanged : messageLog.RecentChangesAsync(Room, _options.RecentDeletions);
        var fromLog = await ReadUnlessInMemory(since);
        var recent = await changes;
        byte[][] history;
        bool? resumed = null;
        if (since is { } from)
        {
            var (messages, closed) = HistoryAfter(from, fromLog);
            history = closed ? [.. messages.Select(m => m.Frame)] : LatestHistory();
            resumed = closed;
        }
        else
        {
            history = LatestHistory();
        }

        var snapshot = new RoomSnapshot(_epoch, _sequence, RosterFrames(), history, _lastRelayedTimestamp, resumed, recent);
        if (_departed.Contains(subscription.GatewayId, member.SessionId))
        {
            // A join tried again after its session had given up and left: nobody to announce or subscribe.
            return snapshot;
        }

        var link = Touch(subscription);
        var entry = new RoomMemberEntry(member);
        if (link.Members.TryAdd(member.SessionId, entry))
        {
            Counted(entry, 1);
        }
        else
        {
            // Already added silently by a renewal that overtook this join; it is still announced once.
            Counted(link.Members[member.SessionId], -1);
            link.Members[member.SessionId] = entry;
            Counted(entry, 1);
        }

        Broadcast(entry.JoinedFrame);
        LogMemberJoined(logger, member.Name, Room, _memberCount);
        return snapshot;
    }

    public async Task<RoomCatchUp> Rejoin(GatewaySubscription subscription, RoomMember[] members, long since)
    {
        // Read from the log, not memory: after a move, messages the previous activation stored while it
        // ended are in the log only. As in Join: after the read, one turn, so the messages, the roster
        // and the sequence agree. (With nothing owed, since is the largest value and nothing is read.)
        // The deletions and edits the gateway's sessions may have missed with the events, read alongside.
        var nothingOwed = since == long.MaxValue;
        var changes = nothingOwed ? NothingChanged : messageLog.RecentChangesAsync(Room, _options.RecentDeletions);
        var fromLog = await (nothingOwed ? NothingRead : ReadLogAfter(since));
        var recent = await changes;
        var (messages, complete) = HistoryAfter(since, fromLog);
        Relist(subscription, members);
        LogGatewayRejoined(logger, subscription.GatewayId, Room, members.Length, messages.Count);
        return new RoomCatchUp(
            _epoch,
            _sequence,
            RosterFrames(),
            [.. messages.Select(m => m.Timestamp)],
            [.. messages.Select(m => m.Frame)],
            complete,
            recent);
    }

    public Task Leave(Guid gatewayId, long version, long sessionId)
    {
        _departed.Add(gatewayId, sessionId);
        if (_gateways.TryGetValue(gatewayId, out var link))
        {
            link.Version = Math.Max(link.Version, version);
            if (link.Members.Count == 1 && link.Members.ContainsKey(sessionId))
            {
                // The gateway's last member: the gateway drops its observer now, so it gets nothing more.
                RemoveGateway(link);
            }
            else
            {
                RemoveMember(link, sessionId);
            }
        }

        DeactivateWhenEmpty();
        return Task.CompletedTask;
    }

    public async Task<long> Post(string name, string message, string? key = null, string? user = null)
    {
        var timestamp = _lastTimestamp = Math.Max(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), _lastTimestamp + 1);
        if (_firstOwnTimestamp == 0)
        {
            _firstOwnTimestamp = timestamp;
        }

        var frame = ChatFrames.Message(name, message, timestamp, PostKeys.ShownId(key), user);

        // The output gate: nobody sees a message that a crash could still lose. A key the log already
        // holds is a retry of a stored post: its timestamp goes unused, and nothing is relayed.
        var stored = new StoredMessage(Room, timestamp, name, message, key, user);
        var append = messageLog.AppendAsync(stored);
        _lastAppend = append;
        if (!await append)
        {
            return key is null ? 0 : await messageLog.TimestampOfKeyAsync(Room, key) ?? 0;
        }

        _messagesStored++;
        _history.Append(stored, frame);

        _lastRelayedTimestamp = Math.Max(_lastRelayedTimestamp, timestamp);

        Broadcast(frame, timestamp);
        return timestamp;
    }

    public async Task<DeleteOutcome> Delete(long timestamp, string actor, string? requiredAuthor)
    {
        var outcome = await messageLog.DeleteAsync(Room, timestamp, actor, requiredAuthor);
        if (outcome.Result == DeleteResult.Deleted)
        {
            // Gone from the history that joins and resumes read, then from every member's page.
            _history.Remove(timestamp);

            Broadcast(ChatFrames.Deleted(timestamp));
            LogMessageDeleted(logger, timestamp, Room);
        }

        return outcome;
    }

    public Task Typing(string name, string? user)
    {
        if (_typingMembers > 0)
        {
            Broadcast(ChatFrames.Typing(name, user));
        }

        return Task.CompletedTask;
    }

    public async Task<ChangeResult> Edit(long timestamp, string message, string user)
    {
        await _changes.WaitAsync();
        try
        {
            // Edit times only grow, so the log's earlier texts stay apart and the newest edit wins everywhere.
            var editedAt = _lastEditedAt = Math.Max(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), _lastEditedAt + 1);
            var result = await messageLog.EditAsync(Room, timestamp, message, user, editedAt);
            if (result == ChangeResult.Done)
            {
                _history.Edit(timestamp, message, editedAt);
                if (_editsMembers > 0)
                {
                    Broadcast(ChatFrames.Edited(timestamp, message, editedAt));
                }

                LogMessageEdited(logger, timestamp, Room);
            }

            return result;
        }
        finally
        {
            _changes.Release();
        }
    }

    public async Task<ChangeResult> React(long timestamp, string emoji, string person)
    {
        await _changes.WaitAsync();
        try
        {
            var (result, counts) = await messageLog.ToggleReactionAsync(Room, timestamp, emoji, person, _options.MaxReactionEmoji);
            if (result == ChangeResult.Done)
            {
                _history.SetReactions(timestamp, counts);
                if (_reactionsMembers > 0)
                {
                    Broadcast(ChatFrames.Reactions(timestamp, counts));
                }
            }

            return result;
        }
        finally
        {
            _changes.Release();
        }
    }

    public Task<byte[]> Presence()
    {
        // One entry per person, in the order they came, with a socket count across gateways and tabs.
        var people = new Dictionary<string, (string Name, string? User, int Sockets)>();
        foreach (var link in _gateways.Values)
        {
            foreach (var member in link.Members.Values)
            {
                var key = People.Key(member.Name, member.User);
                people[key] = people.TryGetValue(key, out var entry) ? entry with { Sockets = entry.Sockets + 1 } : (member.Name, member.User, 1);
            }
        }

        return Task.FromResult(ChatFrames.Presence(people.Values));
    }

    public async Task Close()
    {
        // The room's last timestamp outlives its history: a client that still shows an old message of it
        // must see the messages of the room that comes next under the name as newer.
        state.State.LastTimestamp = Math.Max(state.State.LastTimestamp, _lastTimestamp);
        await state.WriteStateAsync();
        await messageLog.EraseAsync(Room);
        _history.Clear();

        // Every gateway closes its members' sockets; they leave no quit behind, and this activation ends.
        foreach (var link in _gateways.Values.ToArray())
        {
            link.Channel.Observer?.OnRoomClosed(Room).Ignore();
            foreach (var member in link.Members.Values)
            {
                Counted(member, -1);
            }

            link.Members.Clear();
            RemoveGateway(link);
        }

        LogRoomClosed(logger, Room);
        DeactivateOnIdle();
    }

    public Task<RoomRenewal> Renew(GatewaySubscription subscription, RoomMember[] members)
    {
        if (members.Length == 0)
        {
            if (_gateways.TryGetValue(subscription.GatewayId, out var empty) && subscription.Version >= empty.Version)
            {
                RemoveGateway(empty);
            }

            DeactivateWhenEmpty();
            return Task.FromResult(new RoomRenewal(_epoch, _memberCount));
        }

        Relist(subscription, members);
        return Task.FromResult(new RoomRenewal(_epoch, _memberCount));
    }

    /// <summary>
    /// Makes the gateway's members in this room those listed. Members this activation does not know
    /// were announced by an earlier one (the clients already have them on their rosters), so they come
    /// back silently. A list that a newer join or leave overtook may only add members, never remove them,
    /// and no list brings back a member whose leave the room has seen.
    /// </summary>
    private void Relist(GatewaySubscription subscription, RoomMember[] members)
    {
        var current = !_gateways.TryGetValue(subscription.GatewayId, out var existing) || subscription.Version >= existing.Version;
        var link = Touch(subscription);
        foreach (var member in members)
        {
            if (!_departed.Contains(subscription.GatewayId, member.SessionId) && !link.Members.ContainsKey(member.SessionId))
            {
                var entry = new RoomMemberEntry(member);
                link.Members.Add(member.SessionId, entry);
                Counted(entry, 1);
            }
        }

        if (current && link.Members.Count > members.Length)
        {
            var listed = new HashSet<long>(members.Length);
            foreach (var member in members)
            {
                listed.Add(member.SessionId);
            }

            foreach (var sessionId in link.Members.Keys.ToArray())
            {
                if (!listed.Contains(sessionId))
                {
                    RemoveMember(link, sessionId);
                }
            }
        }
    }

    /// <summary>
    /// The log's messages after <paramref name="since"/>, or none when there is nothing to read: no
    /// resume, or the history in memory holds them all. Not async on purpose: the caller awaits the
    /// log itself, and its next turn is the one that uses the result.
    /// </summary>
    private Task<List<StoredMessage>> ReadUnlessInMemory(long? since) =>
        since is { } after && !HistoryHoldsAllAfter(after)
            ? ReadLogAfter(after)
            : NothingRead;

    /// <summary>The log's messages after <paramref name="after"/>, one more than a resume may hold (to tell whether it is complete).</summary>
    private Task<List<StoredMessage>> ReadLogAfter(long after) =>
        messageLog.ReadAfterAsync(Room, after, _options.ResumeLimit + 1, CancellationToken.None);

    private byte[][] LatestHistory() => _history.Frames();

    /// <summary>
    /// Whether the history in memory holds every relayed message after <paramref name="after"/>: it was
    /// never trimmed (the room's whole log fits), or its oldest message is not newer than that.
    /// </summary>
    private bool HistoryHoldsAllAfter(long after) =>
        (!_history.IsFull && _history.Count <= _options.ResumeLimit)
        || (_history.TryPeekOldest(out var oldest) && oldest <= after);

    /// <summary>
    /// The relayed messages after <paramref name="after"/>, oldest first: those read from the log, then
    /// those relayed since from memory. Not complete when there are more than the resume limit, or when
    /// more than the history holds were relayed while the log was read.
    /// </summary>
    private (List<(long Timestamp, byte[] Frame)> Messages, bool Complete) HistoryAfter(long after, List<StoredMessage> fromLog)
    {
        var messages = new List<(long Timestamp, byte[] Frame)>();
        if (fromLog.Count > _options.ResumeLimit)
        {
            return (messages, false);
        }

        var last = after;
        foreach (var message in fromLog)
        {
            if (message.Timestamp > _lastRelayedTimestamp && _firstOwnTimestamp != 0 && message.Timestamp >= _firstOwnTimestamp)
            {
                // This activation's post, stored, not yet relayed: it reaches the members as a live event.
                break;
            }

            messages.Add((message.Timestamp, RoomHistory.Frame(message)));
            last = message.Timestamp;
        }

        // (Never true when nothing had to be read: then the history holds everything after `after`.)
        if (_history.IsFull && _history.TryPeekOldest(out var oldest) && oldest > last && _lastRelayedTimestamp > last)
        {
            return (messages, false);
        }

        _history.AddAfter(last, messages);
        return (messages, true);
    }

    private GatewayLink Touch(GatewaySubscription subscription)
    {
        if (!_gateways.TryGetValue(subscription.GatewayId, out var link))
        {
            link = new GatewayLink(subscription.GatewayId, Room, _epoch, _sequence + 1, outbox.Open(subscription.GatewayId));
            _gateways.Add(subscription.GatewayId, link);
        }

        link.Channel.Observer = subscription.Observer;
        link.Version = Math.Max(link.Version, subscription.Version);
        link.LeaseExpires = Environment.TickCount64 + (long)_options.SubscriptionLease.TotalMilliseconds;
        return link;
    }

    private byte[][] RosterFrames()
    {
        var roster = new byte[_memberCount][];
        var i = 0;
        foreach (var link in _gateways.Values)
        {
            foreach (var member in link.Members.Values)
            {
                roster[i++] = member.JoinedFrame;
            }
        }

        return roster;
    }

    private void Broadcast(byte[] frame, long messageTimestamp = 0)
    {
        _sequence++;
        foreach (var link in _gateways.Values)
        {
            link.Channel.Enqueue(link, frame, messageTimestamp, _options.MaxPendingEventsPerGateway);
        }
    }

    private void RemoveMember(GatewayLink link, long sessionId)
    {
        if (link.Members.Remove(sessionId, out var member))
        {
            Counted(member, -1);
            Broadcast(ChatFrames.Quit(member.Name, member.User));
            LogMemberQuit(logger, member.Name, Room, _memberCount);
        }
    }

    private void RemoveGateway(GatewayLink link)
    {
        _gateways.Remove(link.GatewayId);
        link.Channel.Detach(link);
        outbox.Release(link.Channel);
        foreach (var sessionId in link.Members.Keys.ToArray())
        {
            RemoveMember(link, sessionId);
        }
    }

    private Task ExpireLapsedGateways(CancellationToken cancellationToken)
    {
        var now = Environment.TickCount64;
        foreach (var link in _gateways.Values.ToArray())
        {
            if (link.LeaseExpires < now)
            {
                LogGatewayLapsed(logger, link.GatewayId, Room, link.Members.Count);
                RemoveGateway(link);
            }
        }

        DeactivateWhenEmpty();
        return Task.CompletedTask;
    }

    /// <summary>Counts a member in (+1) or out (-1): the room's size, its capabilities, and the directory's count.</summary>
    private void Counted(RoomMemberEntry member, int delta)
    {
        _memberCount += delta;
        var caps = member.Caps;
        if ((caps & Capabilities.Typing) != 0)
        {
            _typingMembers += delta;
        }

        if ((caps & Capabilities.Edits) != 0)
        {
            _editsMembers += delta;
        }

        if ((caps & Capabilities.Reactions) != 0)
        {
            _reactionsMembers += delta;
        }

        localRooms.Set(Room, _memberCount);
    }

    private void DeactivateWhenEmpty()
    {
        // Like a hibernating Durable Object, an empty room costs nothing; the next join re-activates it.
        if (_memberCount == 0 && _gateways.Count == 0)
        {
            DeactivateOnIdle();
        }
    }

    [LoggerMessage(EventId = 1001, Level = LogLevel.Debug, Message = "{Name} joined room {Room} ({Members} members)")]
    private static partial void LogMemberJoined(ILogger logger, string name, string room, int members);

    [LoggerMessage(EventId = 1002, Level = LogLevel.Debug, Message = "{Name} quit room {Room} ({Members} members)")]
    private static partial void LogMemberQuit(ILogger logger, string name, string room, int members);

    [LoggerMessage(EventId = 1003, Level = LogLevel.Warning, Message = "Gateway {GatewayId} stopped renewing its subscription to room {Room}; its {Members} members quit")]
    private static partial void LogGatewayLapsed(ILogger logger, Guid gatewayId, string room, int members);

    [LoggerMessage(EventId = 1005, Level = LogLevel.Information, Message = "Gateway {GatewayId} rejoined room {Room} with {Members} members; {Messages} messages to catch up")]
    private static partial void LogGatewayRejoined(ILogger logger, Guid gatewayId, string room, int members, int messages);

    [LoggerMessage(EventId = 1006, Level = LogLevel.Information, Message = "Message {Timestamp} of room {Room} was deleted")]
    private static partial void LogMessageDeleted(ILogger logger, long timestamp, string room);

    [LoggerMessage(EventId = 1008, Level = LogLevel.Debug, Message = "Message {Timestamp} of room {Room} was edited")]
    private static partial void LogMessageEdited(ILogger logger, long timestamp, string room);

    [LoggerMessage(EventId = 1007, Level = LogLevel.Information, Message = "Room {Room} was closed and its history erased")]
    private static partial void LogRoomClosed(ILogger logger, string room);

    [LoggerMessage(EventId = 1004, Level = LogLevel.Warning, Message = "Could not save the state of room {Room} on deactivation")]
    private static partial void LogStateNotSaved(ILogger logger, Exception exception, string room);
}
