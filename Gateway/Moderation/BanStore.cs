using System.Net;
using Npgsql;
using NpgsqlTypes;

namespace Chat.Orleans.Gateway.Moderation;

/// <summary>
/// The bans and mutes in PostgreSQL (<c>chat_bans</c>), the one owner of that decision: whichever gateway
/// takes a ban writes it here, with its audit entry, in one transaction, and every gateway enforces what
/// it reads from here. Every change bumps <c>chat_ban_version</c>, so gateways notice changes with a read
/// of one row.
/// </summary>
public sealed class BanStore(NpgsqlDataSource database)
{
    private const string Columns = "id, user_id, ip, room, mute, until, reason, created_by, created_at";

    public async Task<long> VersionAsync(CancellationToken cancellationToken)
    {
        await using var command = database.CreateCommand("SELECT version FROM chat_ban_version WHERE id = 1");
        return await command.ExecuteScalarAsync(cancellationToken) is long version ? version : 0;
    }

    /// <summary>The bans in force now (lifted and ended ones are left out).</summary>
    public async Task<Ban[]> ReadAsync(CancellationToken cancellationToken)
    {
        await using var command = database.CreateCommand($"SELECT {Columns} FROM chat_bans WHERE until IS NULL OR until > now() ORDER BY id");
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var bans = new List<Ban>();
        while (await reader.ReadAsync(cancellationToken))
        {
            bans.Add(new Ban(
                reader.GetInt64(0),
                reader.IsDBNull(1) ? null : reader.GetString(1),
                reader.IsDBNull(2) ? null : reader.GetFieldValue<IPAddress>(2),
                reader.IsDBNull(3) ? null : reader.GetString(3),
                reader.GetBoolean(4),
                reader.IsDBNull(5) ? null : reader.GetFieldValue<DateTimeOffset>(5),
                reader.IsDBNull(6) ? null : reader.GetString(6),
                reader.GetString(7),
                reader.GetFieldValue<DateTimeOffset>(8)));
        }

        return [.. bans];
    }

    /// <summary>Stores a ban and its audit entry; returns its id.</summary>
    public async Task<long> AddAsync(Ban ban, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await using var insert = new NpgsqlCommand(
            "INSERT INTO chat_bans (user_id, ip, room, mute, until, reason, created_by) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
            connection,
            transaction);
        insert.Parameters.Add(Text(ban.User));
        insert.Parameters.Add(new NpgsqlParameter { Value = (object?)ban.Ip ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Inet });
        insert.Parameters.Add(Text(ban.Room));
        insert.Parameters.Add(new NpgsqlParameter<bool> { TypedValue = ban.Mute });
        insert.Parameters.Add(new NpgsqlParameter { Value = (object?)ban.Until ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.TimestampTz });
        insert.Parameters.Add(Text(ban.Reason));
        insert.Parameters.Add(Text(ban.By));
        var id = (long)(await insert.ExecuteScalarAsync(cancellationToken))!;
        var target = ban.User is not null ? $"user {ban.User}" : $"ip {ban.Ip}";
        await AuditLog.InsertAsync(connection, transaction, new AuditEntry(DateTimeOffset.UtcNow, ban.By, ban.Mute ? "mute" : "ban", ban.Room, target, ban.Reason), cancellationToken);
        await BumpVersionAsync(connection, transaction, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return id;
    }

    /// <summary>Lifts a ban and writes its audit entry; false when there is no such ban.</summary>
    public async Task<bool> LiftAsync(long id, string actor, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await using var delete = new NpgsqlCommand("DELETE FROM chat_bans WHERE id = $1 RETURNING room, user_id, host(ip), mute", connection, transaction);
        delete.Parameters.Add(new NpgsqlParameter<long> { TypedValue = id });
        string? room, target;
        bool mute;
        await using (var reader = await delete.ExecuteReaderAsync(cancellationToken))
        {
            if (!await reader.ReadAsync(cancellationToken))
            {
                return false;
            }

            room = reader.IsDBNull(0) ? null : reader.GetString(0);
            target = reader.IsDBNull(1) ? $"ip {reader.GetString(2)}" : $"user {reader.GetString(1)}";
            mute = reader.GetBoolean(3);
        }

        await AuditLog.InsertAsync(connection, transaction, new AuditEntry(DateTimeOffset.UtcNow, actor, mute ? "unmute" : "unban", room, target, $"ban {id}"), cancellationToken);
        await BumpVersionAsync(connection, transaction, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return true;
    }

    private static async Task BumpVersionAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, CancellationToken cancellationToken)
    {
        await using var bump = new NpgsqlCommand("UPDATE chat_ban_version SET version = version + 1 WHERE id = 1", connection, transaction);
        await bump.ExecuteNonQueryAsync(cancellationToken);
    }

    private static NpgsqlParameter Text(string? value) => new() { Value = (object?)value ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text };
}
