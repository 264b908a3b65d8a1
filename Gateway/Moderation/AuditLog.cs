using Npgsql;
using NpgsqlTypes;

namespace Chat.Orleans.Gateway.Moderation;

/// <summary>
/// What moderators, admins and publishers did (<c>chat_audit</c>; PROTOCOL.md, "Audit"). Written by the
/// gateway that carried the action out, after its owner (a room, the ban store) said it was done; a ban's
/// entry goes in the ban's own transaction.
/// </summary>
public sealed class AuditLog(NpgsqlDataSource database)
{
    public const int MaxLimit = 500;

    public async Task WriteAsync(AuditEntry entry, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenConnectionAsync(cancellationToken);
        await InsertAsync(connection, null, entry, cancellationToken);
    }

    /// <summary>The newest <paramref name="limit"/> entries, of one room or of all, newest first.</summary>
    public async Task<List<AuditEntry>> ReadAsync(string? room, int limit, CancellationToken cancellationToken)
    {
        await using var command = database.CreateCommand(
            "SELECT at, actor, action, room, target, reason FROM chat_audit WHERE $1::text IS NULL OR room = $1 ORDER BY id DESC LIMIT $2");
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)room ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
        command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = limit });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var entries = new List<AuditEntry>();
        while (await reader.ReadAsync(cancellationToken))
        {
            entries.Add(new AuditEntry(
                reader.GetFieldValue<DateTimeOffset>(0),
                reader.GetString(1),
                reader.GetString(2),
                reader.IsDBNull(3) ? null : reader.GetString(3),
                reader.GetString(4),
                reader.IsDBNull(5) ? null : reader.GetString(5)));
        }

        return entries;
    }

    internal static async Task InsertAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction, AuditEntry entry, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(
            "INSERT INTO chat_audit (at, actor, action, room, target, reason) VALUES ($1, $2, $3, $4, $5, $6)", connection, transaction);
        command.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = entry.At });
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = entry.Actor });
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = entry.Action });
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)entry.Room ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = entry.Target });
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)entry.Reason ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
        await command.ExecuteNonQueryAsync(cancellationToken);
    }
}

/// <summary>One moderation action: who (a token's <c>sub</c>), what, in which room, to whom or what, and why.</summary>
public sealed record AuditEntry(DateTimeOffset At, string Actor, string Action, string? Room, string Target, string? Reason);
