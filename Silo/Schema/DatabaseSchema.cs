using Npgsql;

namespace Chat.Orleans.Silo.Schema;

/// <summary>
/// Creates or brings up to date the PostgreSQL schema that Orleans' ADO.NET providers and the chat
/// need. No Orleans package ships these scripts, so the project owns them (Schema/*.sql).
/// </summary>
public static class DatabaseSchema
{
    // Every silo must contend for the same key; the value only has to be unlikely to clash with
    // another application's advisory locks on the same database ("ChatOrls" in ASCII).
    private const long SchemaLockKey = 0x436861744F726C73;

    // The build names embedded files "<RootNamespace>.<folder>.<file>", which is this namespace.
    private static readonly string ResourcePrefix = typeof(DatabaseSchema).Namespace + ".";

    /// <summary>
    /// Applies every embedded Schema/*.sql script in name order, in one transaction, holding a
    /// transaction-scoped advisory lock so that silos starting together do not race.
    /// </summary>
    public static async Task ApplyAsync(string connectionString, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);

        var scripts = LoadScripts();

        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);

        // Concurrent CREATE TABLE IF NOT EXISTS / CREATE OR REPLACE FUNCTION can still fail with
        // duplicate-key or "tuple concurrently updated" errors; the lock makes the second silo wait
        // and then find everything in place. It is released by the commit or rollback.
        await using (var lockCommand = new NpgsqlCommand("SELECT pg_advisory_xact_lock(@key)", connection, transaction))
        {
            lockCommand.Parameters.AddWithValue("key", SchemaLockKey);
            // No timeout: waiting for another silo's migration is the intended behaviour, and
            // cancellationToken still bounds the wait.
            lockCommand.CommandTimeout = 0;
            await lockCommand.ExecuteNonQueryAsync(cancellationToken);
        }

        foreach (var (name, sql) in scripts)
        {
            await using var command = new NpgsqlCommand(sql, connection, transaction);
            try
            {
                await command.ExecuteNonQueryAsync(cancellationToken);
            }
            catch (PostgresException e)
            {
                // The server's message alone does not say which of the scripts broke.
                throw new InvalidOperationException($"Schema script '{name}' failed: {e.MessageText}", e);
            }
        }

        await transaction.CommitAsync(cancellationToken);
    }

    private static List<(string Name, string Sql)> LoadScripts()
    {
        var assembly = typeof(DatabaseSchema).Assembly;
        var names = assembly.GetManifestResourceNames()
            .Where(n => n.StartsWith(ResourcePrefix, StringComparison.Ordinal)
                        && n.EndsWith(".sql", StringComparison.OrdinalIgnoreCase))
            // Ordinal, so that the numeric prefixes order the scripts the same on every culture.
            .Order(StringComparer.Ordinal)
            .ToList();

        if (names.Count == 0)
        {
            // Starting against an empty schema would fail later with a far less obvious error.
            throw new InvalidOperationException(
                $"No embedded schema scripts named '{ResourcePrefix}*.sql' in {assembly.GetName().Name}.");
        }

        var scripts = new List<(string Name, string Sql)>(names.Count);
        foreach (var name in names)
        {
            using var stream = assembly.GetManifestResourceStream(name)
                ?? throw new InvalidOperationException($"Embedded resource '{name}' could not be opened.");
            using var reader = new StreamReader(stream);
            scripts.Add((name[ResourcePrefix.Length..], reader.ReadToEnd()));
        }

        return scripts;
    }
}
