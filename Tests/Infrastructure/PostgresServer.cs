using System.Diagnostics;
using Npgsql;

namespace Chat.Orleans.Tests.Infrastructure;

/// <summary>A throwaway PostgreSQL server of the tests' own, started with the repository's script.</summary>
public class PostgresServer : IAsyncDisposable
{
    private readonly string _script;
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "chat-tests-" + Guid.NewGuid().ToString("N")[..12]);

    /// <param name="script">The script in scripts/ that starts and stops it (postgres.sh, postgres-ha.sh).</param>
    protected PostgresServer(string script = "postgres.sh") => _script = script;

    public string ConnectionString { get; private set; } = "";

    public static async Task<PostgresServer> StartNewAsync()
    {
        var server = new PostgresServer();
        await server.StartAsync();
        return server;
    }

    /// <summary>Starts (or restarts) the server; a restart keeps the port and the data.</summary>
    public async Task StartAsync() =>
        ConnectionString = (await RunScriptAsync("start")).Trim().Split('\n')[^1] + ";Pooling=true;Timeout=5";

    public Task StopAsync() => RunScriptAsync("stop");

    public async Task<T> ScalarAsync<T>(string sql, params object[] parameters)
    {
        await using var dataSource = NpgsqlDataSource.Create(ConnectionString);
        await using var command = dataSource.CreateCommand(sql);
        foreach (var parameter in parameters)
        {
            command.Parameters.Add(new NpgsqlParameter { Value = parameter });
        }

        return (T)(await command.ExecuteScalarAsync())!;
    }

    public async Task<List<(long Timestamp, string Name, string Message)>> MessagesAsync(string room)
    {
        await using var dataSource = NpgsqlDataSource.Create(ConnectionString);
        await using var command = dataSource.CreateCommand("SELECT timestamp_ms, name, message FROM chat_messages WHERE room = $1 ORDER BY timestamp_ms");
        command.Parameters.Add(new NpgsqlParameter { Value = room });
        await using var reader = await command.ExecuteReaderAsync();
        var rows = new List<(long, string, string)>();
        while (await reader.ReadAsync())
        {
            rows.Add((reader.GetInt64(0), reader.GetString(1), reader.GetString(2)));
        }

        return rows;
    }

    public async ValueTask DisposeAsync()
    {
        NpgsqlConnection.ClearAllPools();
        await StopAsync();
        Directory.Delete(_directory, recursive: true);
    }

    /// <summary>Runs the script with a command and its arguments after the folder; returns what it printed.</summary>
    protected async Task<string> RunScriptAsync(string command, params string[] arguments)
    {
        var start = new ProcessStartInfo("bash", [RepositoryPaths.Of("scripts", _script), command, _directory, .. arguments])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{_script} {command} failed: {await error}");
        }

        return await output;
    }
}
