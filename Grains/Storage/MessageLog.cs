using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;
using NpgsqlTypes;

namespace Chat.Orleans.Grains.Storage;

/// <summary>
/// The message history in PostgreSQL, one per silo. Appends from all rooms of the silo are gathered
/// into one INSERT per round trip (group commit): while one write is in flight, newer messages queue
/// for the next, so a busy silo pays one transaction per batch rather than one per message or room.
/// </summary>
public sealed partial class MessageLog : IAsyncDisposable
{
    // Returns only the rows whose post key the room already held (usually none): those not inserted now
    // and not stored by an earlier try of this same batch (a retry after a commit whose reply was lost).
    private const string InsertSql = """
        WITH batch AS (
            SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[], $4::text[], $5::text[], $6::text[])
                AS b(room, timestamp_ms, name, message, post_key, user_id)),
        inserted AS (
            INSERT INTO chat_messages (room, timestamp_ms, name, message, post_key, user_id)
            SELECT room, timestamp_ms, name, message, post_key, user_id FROM batch
            ON CONFLICT DO NOTHING
            RETURNING room, timestamp_ms)
        SELECT b.room, b.timestamp_ms FROM batch b
        WHERE NOT EXISTS (SELECT 1 FROM inserted i WHERE i.room = b.room AND i.timestamp_ms = b.timestamp_ms)
          AND NOT EXISTS (SELECT 1 FROM chat_messages m WHERE m.room = b.room AND m.timestamp_ms = b.timestamp_ms
                          AND m.post_key IS NOT DISTINCT FROM b.post_key)
        """;

    // Every read leaves deleted messages (their tombstones) out, and brings each message's latest text,
    // when it was edited, and its reaction counts as one JSON object (emoji in the order first used).
    private const string Columns = """
        m.timestamp_ms, m.name, m.message, m.post_key, m.user_id, m.edited_at,
        (SELECT json_object_agg(c.emoji, c.n ORDER BY c.first) FROM (
            SELECT emoji, count(*) AS n, min(created_at) AS first FROM chat_reactions r
            WHERE r.room = m.room AND r.timestamp_ms = m.timestamp_ms GROUP BY emoji) AS c)::text AS reactions
        """;

    private const string ReadLatestSql = $"""
        SELECT * FROM (
            SELECT {Columns} FROM chat_messages m
            WHERE m.room = $1 AND m.deleted_at IS NULL ORDER BY m.timestamp_ms DESC LIMIT $2
        ) AS latest ORDER BY timestamp_ms
        """;

    private const string ReadAfterSql = $"""
        SELECT {Columns} FROM chat_messages m
        WHERE m.room = $1 AND m.timestamp_ms > $2 AND m.deleted_at IS NULL ORDER BY m.timestamp_ms LIMIT $3
        """;

    private const string ReadBeforeSql = $"""
        SELECT * FROM (
            SELECT {Columns} FROM chat_messages m
            WHERE m.room = $1 AND m.timestamp_ms < $2 AND m.deleted_at IS NULL ORDER BY m.timestamp_ms DESC LIMIT $3
        ) AS older ORDER BY timestamp_ms
        """;

    // One statement decides: the tombstone is written only for a live message whose author is the one
    // required (any author when none is), and the answer tells the three outcomes apart.
    private const string DeleteSql = """
        WITH target AS (
            SELECT user_id FROM chat_messages WHERE room = $1 AND timestamp_ms = $2 AND deleted_at IS NULL),
        deleted AS (
            UPDATE chat_messages SET deleted_at = now(), deleted_by = $3
            WHERE room = $1 AND timestamp_ms = $2 AND deleted_at IS NULL AND ($4::text IS NULL OR user_id = $4)
            RETURNING 1)
        SELECT EXISTS (SELECT 1 FROM target), EXISTS (SELECT 1 FROM deleted), (SELECT user_id FROM target)
        """;

    private const string EraseSql = """
        WITH reactions AS (DELETE FROM chat_reactions WHERE room = $1),
        edits AS (DELETE FROM chat_message_edits WHERE room = $1)
        DELETE FROM chat_messages WHERE room = $1
        """;

    // Only the verified author edits a live message; its text before the edit is kept.
    private const string EditSql = """
        WITH target AS (
            SELECT message, user_id FROM chat_messages WHERE room = $1 AND timestamp_ms = $2 AND deleted_at IS NULL),
        kept AS (
            INSERT INTO chat_message_edits (room, timestamp_ms, replaced_at, message)
            SELECT $1, $2, $4, message FROM target WHERE user_id = $5
            ON CONFLICT DO NOTHING),
        edited AS (
            UPDATE chat_messages SET message = $3, edited_at = $4
            WHERE room = $1 AND timestamp_ms = $2 AND deleted_at IS NULL AND user_id = $5
            RETURNING 1)
        SELECT EXISTS (SELECT 1 FROM target), EXISTS (SELECT 1 FROM edited)
        """;

    // A toggle: the person's reaction goes if it is there, else comes if the message is live and the emoji
    // is one it has already or it has fewer distinct emoji than allowed. The answer tells the outcomes apart.
    private const string ToggleReactionSql = """
        WITH target AS (
            SELECT 1 FROM chat_messages WHERE room = $1 AND timestamp_ms = $2 AND deleted_at IS NULL),
        removed AS (
            DELETE FROM chat_reactions
            WHERE room = $1 AND timestamp_ms = $2 AND emoji = $3 AND person = $4 AND EXISTS (SELECT 1 FROM target)
            RETURNING 1),
        allowed AS (
            SELECT EXISTS (SELECT 1 FROM target) AND NOT EXISTS (SELECT 1 FROM removed)
                AND (EXISTS (SELECT 1 FROM chat_reactions WHERE room = $1 AND timestamp_ms = $2 AND emoji = $3)
                     OR (SELECT count(DISTINCT emoji) FROM chat_reactions WHERE room = $1 AND timestamp_ms = $2) < $5) AS ok),
        added AS (
            INSERT INTO chat_reactions (room, timestamp_ms, emoji, person)
            SELECT $1, $2, $3, $4 FROM allowed WHERE ok
            ON CONFLICT DO NOTHING
            RETURNING 1),
        touched AS (
            UPDATE chat_messages SET reacted_at = now()
            WHERE room = $1 AND timestamp_ms = $2 AND (EXISTS (SELECT 1 FROM removed) OR EXISTS (SELECT 1 FROM added)))
        SELECT EXISTS (SELECT 1 FROM target), EXISTS (SELECT 1 FROM removed), EXISTS (SELECT 1 FROM added)
        """;

    // Run after the toggle in the same batch (one implicit transaction), so it sees the toggle's effect.
    private const string ReactionCountsSql = """
        SELECT json_object_agg(c.emoji, c.n ORDER BY c.first)::text FROM (
            SELECT emoji, count(*) AS n, min(created_at) AS first FROM chat_reactions
            WHERE room = $1 AND timestamp_ms = $2 GROUP BY emoji) AS c
        """;

    // The three kinds in one round trip, oldest first: deleted ('d'), edited ('e', with the latest text),
    // and reactions changed ('r', with the counts now).
    private const string RecentChangesSql = """
        SELECT 'd' AS kind, timestamp_ms, NULL::text AS message, NULL::bigint AS edited_at, NULL::text AS counts FROM chat_messages
        WHERE room = $1 AND deleted_at IS NOT NULL AND deleted_at > now() - $2::interval
        UNION ALL
        SELECT 'e', timestamp_ms, message, edited_at, NULL FROM chat_messages
        WHERE room = $1 AND deleted_at IS NULL AND edited_at IS NOT NULL
          AND edited_at > (extract(epoch FROM now() - $2::interval) * 1000)::bigint
        UNION ALL
        SELECT 'r', m.timestamp_ms, NULL, NULL,
            (SELECT json_object_agg(c.emoji, c.n ORDER BY c.first) FROM (
                SELECT emoji, count(*) AS n, min(created_at) AS first FROM chat_reactions r
                WHERE r.room = m.room AND r.timestamp_ms = m.timestamp_ms GROUP BY emoji) AS c)::text
        FROM chat_messages m
        WHERE m.room = $1 AND m.deleted_at IS NULL AND m.reacted_at IS NOT NULL AND m.reacted_at > now() - $2::interval
        ORDER BY 2
        """;

    private const string TimestampOfKeySql = "SELECT timestamp_ms FROM chat_messages WHERE room = $1 AND post_key = $2";

    private readonly NpgsqlDataSource _dataSource;
    private readonly MessageLogOptions _options;
    private readonly RoomMetrics _metrics;
    private readonly ILogger<MessageLog> _logger;
    private readonly Channel<PendingAppend> _pending =
        Channel.CreateUnbounded<PendingAppend>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Task _writer;
    private long _roundTrips;
    private long _messagesStored;

    // When the writes began to fail on an outage (Environment.TickCount64; 0: they do not). The outage
    // timeout counts from here, not per batch: once it is over, each batch fails after one retry, so the
    // senders of a database that stays down get their error at once instead of one timeout per batch.
    private long _outageStarted;

    public MessageLog(NpgsqlDataSource dataSource, RoomMetrics metrics, IOptions<MessageLogOptions> options, ILogger<MessageLog> logger)
    {
        _dataSource = dataSource;
        _metrics = metrics;
        _options = options.Value;
        _logger = logger;
        _writer = Task.Run(WriteBatchesAsync);
    }

    /// <summary>Write round trips so far (for benchmarks: round trips per message).</summary>
    public long RoundTrips => Interlocked.Read(ref _roundTrips);

    public long MessagesStored => Interlocked.Read(ref _messagesStored);

    /// <summary>
    /// Completes with true when the message is durably stored, with false when its post key was already
    /// stored in its room (then it is not stored again); fails when it could not be stored.
    /// </summary>
    public Task<bool> AppendAsync(StoredMessage message)
    {
        var append = new PendingAppend(message);
        if (!_pending.Writer.TryWrite(append))
        {
            append.TrySetException(new ObjectDisposedException(nameof(MessageLog)));
        }

        return append.Task;
    }

    /// <summary>The last <paramref name="count"/> messages of a room, oldest first.</summary>
    public Task<List<StoredMessage>> ReadLatestAsync(string room, int count, CancellationToken cancellationToken) =>
        ReadWithRetryAsync(ReadLatestSql, room, null, count, cancellationToken);

    /// <summary>The first <paramref name="count"/> messages of a room after <paramref name="after"/>, oldest first.</summary>
    public Task<List<StoredMessage>> ReadAfterAsync(string room, long after, int count, CancellationToken cancellationToken) =>
        ReadWithRetryAsync(ReadAfterSql, room, after, count, cancellationToken);

    /// <summary>The last <paramref name="count"/> messages of a room before <paramref name="before"/>, oldest first.</summary>
    public Task<List<StoredMessage>> ReadBeforeAsync(string room, long before, int count, CancellationToken cancellationToken) =>
        ReadWithRetryAsync(ReadBeforeSql, room, before, count, cancellationToken);

    /// <summary>
    /// Writes the tombstone of a room's message: <paramref name="requiredAuthor"/> is the user id the
    /// message must be by (a verified author deleting their own), null for any (a moderator).
    /// </summary>
    public async Task<DeleteOutcome> DeleteAsync(string room, long timestamp, string actor, string? requiredAuthor)
    {
        await using var command = _dataSource.CreateCommand(DeleteSql);
        command.CommandTimeout = (int)_options.CommandTimeout.TotalSeconds;
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = room });
        command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = timestamp });
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = actor });
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)requiredAuthor ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
        await using var reader = await command.ExecuteReaderAsync();
        await reader.ReadAsync();
        var author = reader.IsDBNull(2) ? null : reader.GetString(2);
        var result = !reader.GetBoolean(0) ? DeleteResult.NoSuchMessage : reader.GetBoolean(1) ? DeleteResult.Deleted : DeleteResult.NotAllowed;
        return new DeleteOutcome(result, author);
    }

    /// <summary>Erases every message of a room (closing it): the name may be used again for a new, empty room.</summary>
    public async Task EraseAsync(string room)
    {
        await using var command = _dataSource.CreateCommand(EraseSql);
        command.CommandTimeout = (int)_options.CommandTimeout.TotalSeconds;
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = room });
        await command.ExecuteNonQueryAsync();
    }

    /// <summary>
    /// Replaces the text of a live message by <paramref name="user"/>, keeping the earlier one:
    /// <see cref="ChangeResult.NoSuchMessage"/> when there is no such live message, <see cref="ChangeResult.NotAllowed"/>
    /// when it is someone else's (or an anonymous one).
    /// </summary>
    public async Task<ChangeResult> EditAsync(string room, long timestamp, string message, string user, long editedAt)
    {
        await using var command = _dataSource.CreateCommand(EditSql);
        command.CommandTimeout = (int)_options.CommandTimeout.TotalSeconds;
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = room });
        command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = timestamp });
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = message });
        command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = editedAt });
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = user });
        await using var reader = await command.ExecuteReaderAsync();
        await reader.ReadAsync();
        return !reader.GetBoolean(0) ? ChangeResult.NoSuchMessage : reader.GetBoolean(1) ? ChangeResult.Done : ChangeResult.NotAllowed;
    }

    /// <summary>
    /// Toggles a person's reaction on a live message, allowing at most <paramref name="maxEmoji"/> distinct
    /// emoji per message, and returns the message's counts after it (a JSON object; null for none).
    /// </summary>
    public async Task<(ChangeResult Result, string? Counts)> ToggleReactionAsync(string room, long timestamp, string emoji, string person, int maxEmoji)
    {
        await using var batch = _dataSource.CreateBatch();
        batch.Timeout = (int)_options.CommandTimeout.TotalSeconds;
        var toggle = new NpgsqlBatchCommand(ToggleReactionSql);
        toggle.Parameters.Add(new NpgsqlParameter<string> { TypedValue = room });
        toggle.Parameters.Add(new NpgsqlParameter<long> { TypedValue = timestamp });
        toggle.Parameters.Add(new NpgsqlParameter<string> { TypedValue = emoji });
        toggle.Parameters.Add(new NpgsqlParameter<string> { TypedValue = person });
        toggle.Parameters.Add(new NpgsqlParameter<long> { TypedValue = maxEmoji });
        var counts = new NpgsqlBatchCommand(ReactionCountsSql);
        counts.Parameters.Add(new NpgsqlParameter<string> { TypedValue = room });
        counts.Parameters.Add(new NpgsqlParameter<long> { TypedValue = timestamp });
        batch.BatchCommands.Add(toggle);
        batch.BatchCommands.Add(counts);
        await using var reader = await batch.ExecuteReaderAsync();
        await reader.ReadAsync();
        var exists = reader.GetBoolean(0);
        var changed = reader.GetBoolean(1) || reader.GetBoolean(2);
        await reader.NextResultAsync();
        await reader.ReadAsync();
        var json = reader.IsDBNull(0) ? null : reader.GetString(0);
        var result = !exists ? ChangeResult.NoSuchMessage : changed ? ChangeResult.Done : ChangeResult.TooManyEmoji;
        return (result, json);
    }

    /// <summary>The room's messages deleted, edited or reacted to within <paramref name="window"/>, oldest first.</summary>
    public async Task<RecentChanges> RecentChangesAsync(string room, TimeSpan window)
    {
        if (window <= TimeSpan.Zero)
        {
            return RecentChanges.None;
        }

        await using var command = _dataSource.CreateCommand(RecentChangesSql);
        command.CommandTimeout = (int)_options.CommandTimeout.TotalSeconds;
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = room });
        command.Parameters.Add(new NpgsqlParameter<TimeSpan> { TypedValue = window });
        await using var reader = await command.ExecuteReaderAsync();
        List<long> deleted = [], editedTimestamps = [], reactedTimestamps = [];
        List<byte[]> edited = [], reactions = [];
        while (await reader.ReadAsync())
        {
            var timestamp = reader.GetInt64(1);
            switch (reader.GetString(0))
            {
                case "d":
                    deleted.Add(timestamp);
                    break;
                case "e":
                    editedTimestamps.Add(timestamp);
                    edited.Add(ChatFrames.Edited(timestamp, reader.GetString(2), reader.GetInt64(3)));
                    break;
                default:
                    reactedTimestamps.Add(timestamp);
                    reactions.Add(ChatFrames.Reactions(timestamp, reader.IsDBNull(4) ? null : reader.GetString(4)));
                    break;
            }
        }

        return deleted.Count + edited.Count + reactions.Count == 0
            ? RecentChanges.None
            : new RecentChanges([.. deleted], [.. editedTimestamps], [.. edited], [.. reactedTimestamps], [.. reactions]);
    }

    /// <summary>The timestamp of the room's message stored with <paramref name="key"/>, if any (deleted or not).</summary>
    public async Task<long?> TimestampOfKeyAsync(string room, string key)
    {
        await using var command = _dataSource.CreateCommand(TimestampOfKeySql);
        command.CommandTimeout = (int)_options.CommandTimeout.TotalSeconds;
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = room });
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = key });
        return await command.ExecuteScalarAsync() is long timestamp ? timestamp : null;
    }

    // Reads change nothing: they are tried again through an outage as writes are, within the same bound
    // and the caller's cancellation.
    private async Task<List<StoredMessage>> ReadWithRetryAsync(string sql, string room, long? timestamp, int count, CancellationToken cancellationToken)
    {
        var started = Environment.TickCount64;
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await ReadAsync(sql, room, timestamp, count, cancellationToken);
            }
            catch (Exception exception) when (DatabaseOutage.IsOutage(exception) && !cancellationToken.IsCancellationRequested
                && (attempt == 1 || Environment.TickCount64 - started < _options.OutageTimeout.TotalMilliseconds))
            {
                DatabaseOutage.Forget(_dataSource);
                await Task.Delay(DatabaseOutage.PauseBefore(attempt), cancellationToken);
            }
        }
    }

    /// <param name="timestamp">The bound of the query (after or before), when it has one.</param>
    private async Task<List<StoredMessage>> ReadAsync(string sql, string room, long? timestamp, int count, CancellationToken cancellationToken)
    {
        await using var command = _dataSource.CreateCommand(sql);
        command.CommandTimeout = (int)_options.CommandTimeout.TotalSeconds;
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = room });
        if (timestamp is { } bound)
        {
            command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = bound });
        }

        command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = count });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var messages = new List<StoredMessage>(Math.Min(count, 1000));
        while (await reader.ReadAsync(cancellationToken))
        {
            messages.Add(new StoredMessage(
                room,
                reader.GetInt64(0),
                reader.GetString(1),
                reader.GetString(2),
                reader.IsDBNull(3) ? null : reader.GetString(3),
                reader.IsDBNull(4) ? null : reader.GetString(4),
                reader.IsDBNull(5) ? null : reader.GetInt64(5),
                reader.IsDBNull(6) ? null : reader.GetString(6)));
        }

        return messages;
    }

    public async ValueTask DisposeAsync()
    {
        // Let every message already accepted reach the database before the silo goes away.
        _pending.Writer.TryComplete();
        await _writer;
    }

    private async Task WriteBatchesAsync()
    {
        var batch = new List<PendingAppend>(_options.MaxBatchSize);
        var reader = _pending.Reader;
        while (await reader.WaitToReadAsync())
        {
            batch.Clear();
            while (batch.Count < _options.MaxBatchSize && reader.TryRead(out var append))
            {
                batch.Add(append);
            }

            try
            {
                var started = System.Diagnostics.Stopwatch.GetTimestamp();
                var refused = await InsertWithRetryAsync(batch);
                _metrics.BatchStored(batch.Count, System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalMilliseconds);
                Interlocked.Increment(ref _roundTrips);
                Interlocked.Add(ref _messagesStored, batch.Count - (refused?.Count ?? 0));
                foreach (var append in batch)
                {
                    append.TrySetResult(refused is null || !refused.Contains((append.Message.Room, append.Message.Timestamp)));
                }
            }
            catch (Exception exception)
            {
                LogBatchFailed(_logger, exception, batch.Count);
                var failure = new MessageNotStoredException(exception.Message);
                foreach (var append in batch)
                {
                    append.TrySetException(failure);
                }
            }
        }
    }

    /// <returns>The messages whose post key was already stored (null: none).</returns>
    /// <remarks>
    /// While the database is out of reach (a restart, a failover to the standby), the batch is tried again
    /// until <see cref="MessageLogOptions.OutageTimeout"/>: its senders wait instead of getting an error,
    /// and messages that arrive meanwhile queue behind it, in order. Another try is safe even when an
    /// earlier one committed unseen (the connection died during the commit): the primary key makes the
    /// insert idempotent (ON CONFLICT DO NOTHING), and rows an earlier try stored count as stored.
    /// </remarks>
    private async Task<HashSet<(string Room, long Timestamp)>?> InsertWithRetryAsync(List<PendingAppend> batch)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                var refused = await InsertAsync(batch);
                if (_outageStarted != 0)
                {
                    LogStoredAfterOutage(_logger, batch.Count, attempt, Environment.TickCount64 - _outageStarted);
                    _outageStarted = 0;
                }

                return refused;
            }
            catch (Exception exception) when (IsOutage(exception)
                && (attempt == 1 || Environment.TickCount64 - _outageStarted < _options.OutageTimeout.TotalMilliseconds))
            {
                if (_outageStarted == 0)
                {
                    _outageStarted = Environment.TickCount64;
                    LogBatchRetried(_logger, exception, batch.Count);
                }

                // After a restart the pool holds dead connections; after a failover the data source still
                // takes the promoted standby for a standby.
                DatabaseOutage.Forget(_dataSource);
                await Task.Delay(DatabaseOutage.PauseBefore(attempt));
            }
        }
    }

    // A write that timed out is an outage too: the server stopped answering (a machine gone, not a
    // process), and the insert is safe to send again.
    private static bool IsOutage(Exception exception) => exception is OperationCanceledException || DatabaseOutage.IsOutage(exception);

    private async Task<HashSet<(string Room, long Timestamp)>?> InsertAsync(List<PendingAppend> batch)
    {
        var rooms = new string[batch.Count];
        var timestamps = new long[batch.Count];
        var names = new string[batch.Count];
        var messages = new string[batch.Count];
        var keys = new string?[batch.Count];
        var users = new string?[batch.Count];
        for (var i = 0; i < batch.Count; i++)
        {
            var message = batch[i].Message;
            rooms[i] = message.Room;
            timestamps[i] = message.Timestamp;
            names[i] = message.Name;
            messages[i] = message.Message;
            keys[i] = message.PostKey;
            users[i] = message.User;
        }

        using var timeout = new CancellationTokenSource(_options.CommandTimeout);
        await using var command = _dataSource.CreateCommand(InsertSql);
        command.CommandTimeout = (int)_options.CommandTimeout.TotalSeconds;
        command.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = rooms, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
        command.Parameters.Add(new NpgsqlParameter<long[]> { TypedValue = timestamps, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Bigint });
        command.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = names, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
        command.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = messages, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
        command.Parameters.Add(new NpgsqlParameter<string?[]> { TypedValue = keys, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
        command.Parameters.Add(new NpgsqlParameter<string?[]> { TypedValue = users, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
        await using var reader = await command.ExecuteReaderAsync(timeout.Token);
        HashSet<(string Room, long Timestamp)>? refused = null;
        while (await reader.ReadAsync(timeout.Token))
        {
            (refused ??= []).Add((reader.GetString(0), reader.GetInt64(1)));
        }

        return refused;
    }

    [LoggerMessage(EventId = 2001, Level = LogLevel.Error, Message = "Storing a batch of {Count} messages failed; their senders get an error and nothing of it is relayed")]
    private static partial void LogBatchFailed(ILogger logger, Exception exception, int count);

    [LoggerMessage(EventId = 2002, Level = LogLevel.Warning, Message = "Storing a batch of {Count} messages failed: the database is out of reach; trying again until it answers or the outage timeout ends")]
    private static partial void LogBatchRetried(ILogger logger, Exception exception, int count);

    [LoggerMessage(EventId = 2003, Level = LogLevel.Information, Message = "The database is back: stored a batch of {Count} messages at try {Attempt}, {Milliseconds} ms after the first write failed")]
    private static partial void LogStoredAfterOutage(ILogger logger, int count, int attempt, long milliseconds);

    /// <summary>A message waiting for its batch; the task completes when that batch has committed.</summary>
    private sealed class PendingAppend(StoredMessage message)
        : TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously)
    {
        public StoredMessage Message { get; } = message;
    }
}
