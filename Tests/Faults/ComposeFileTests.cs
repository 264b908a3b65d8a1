using System.Net;

namespace Chat.Orleans.Tests.Faults;

/// <summary>
/// No Docker engine runs here, so the compose file is kept honest another way: its silo and gateway
/// environments, read from docker-compose.yml, start the same programs as processes, which must form
/// a cluster and chat. Only what a container network provides is replaced: the database address and
/// the ports.
/// </summary>
public sealed class ComposeFileTests(ComposeCluster cluster) : IClassFixture<ComposeCluster>
{
    [Fact]
    public async Task The_compose_environment_starts_a_silo_and_a_gateway_that_chat()
    {
        var silo = ComposeFile.Environment("silo");
        var gateway = ComposeFile.Environment("gateway");
        Assert.Contains("ConnectionStrings__Chat", silo.Keys);
        Assert.Equal(silo["Orleans__ClusterId"], gateway["Orleans__ClusterId"]);

        var siloUrl = $"http://127.0.0.1:{FreePort.Next()}";
        await using var siloProcess = SiloProcess.Start(Localize(silo, new()
        {
            ["Chat__Silo__SiloPort"] = FreePort.Next().ToString(),
            ["Chat__Silo__ClientPort"] = FreePort.Next().ToString(),
            ["Urls"] = siloUrl,
        }));
        GatewayProcess gatewayProcess;
        try
        {
            gatewayProcess = await GatewayProcess.StartAsync(Localize(gateway, []));
        }
        catch (Exception exception) when (exception is TimeoutException or OperationCanceledException or InvalidOperationException)
        {
            // Seen once in a full CI run and never alone: say whether the silo was the one that failed.
            var tail = string.Join(Environment.NewLine, siloProcess.Output.Split(Environment.NewLine).TakeLast(40));
            throw new InvalidOperationException($"The gateway did not become ready; silo exited: {siloProcess.HasExited}; its last output:{Environment.NewLine}{tail}", exception);
        }

        await using var gatewayDisposal = gatewayProcess;

        using var http = new HttpClient();
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync(siloUrl + "/readyz")).StatusCode);

        // The compose health checks, run as written against the processes' ports.
        Assert.Equal(0, await RunHealthCheckAsync(ComposeFile.HealthCheck("silo"), 8090, new Uri(siloUrl).Port));
        Assert.Equal(0, await RunHealthCheckAsync(ComposeFile.HealthCheck("gateway"), 8080, gatewayProcess.HttpUri.Port));
        Assert.NotEqual(0, await RunHealthCheckAsync(ComposeFile.HealthCheck("gateway"), 8080, FreePort.Next()));
        await using var client = await TestChatClient.ConnectAsync(gatewayProcess.WebSocketUri("compose"), "10.80.0.1");
        await client.JoinAsync("operator");
        await client.SendAsync(new { message = "hello from compose" });
        await client.ExpectMessageAsync("hello from compose");
    }

    private static async Task<int> RunHealthCheckAsync(string[] command, int composePort, int port)
    {
        Assert.Equal(["bash", "-c"], command[..2]);
        var script = command[2].Replace($"/{composePort} ", $"/{port} ");
        using var process = System.Diagnostics.Process.Start("bash", ["-c", script])!;
        await process.WaitForExitAsync();
        return process.ExitCode;
    }

    private Dictionary<string, string?> Localize(Dictionary<string, string> environment, Dictionary<string, string?> ports)
    {
        var settings = environment.ToDictionary(e => e.Key, e => (string?)e.Value);
        settings["ConnectionStrings__Chat"] = cluster.Postgres.ConnectionString;
        settings.Remove("Urls");
        foreach (var (key, value) in ports)
        {
            settings[key] = value;
        }

        return settings;
    }
}

/// <summary>Only a PostgreSQL: the compose test starts its programs itself.</summary>
public sealed class ComposeCluster : ChatCluster
{
    public override async Task InitializeAsync() => Postgres = await PostgresServer.StartNewAsync();
}

/// <summary>Reads a service's <c>environment:</c> map from docker-compose.yml (the simple form the file uses).</summary>
public static class ComposeFile
{
    /// <summary>The health check's command (the <c>["CMD", ...]</c> form), without "CMD".</summary>
    public static string[] HealthCheck(string service)
    {
        var lines = File.ReadAllLines(RepositoryPaths.Of("docker-compose.yml"));
        var start = Array.FindIndex(lines, line => line == $"  {service}:");
        var test = lines.Skip(start + 1).TakeWhile(line => !line.StartsWith("  ") || line.StartsWith("   ")).First(line => line.TrimStart().StartsWith("test:"));
        var command = System.Text.Json.JsonSerializer.Deserialize<string[]>(test.Trim()["test:".Length..])!;
        Assert.Equal("CMD", command[0]);
        return command[1..];
    }

    public static Dictionary<string, string> Environment(string service)
    {
        var lines = File.ReadAllLines(RepositoryPaths.Of("docker-compose.yml"));
        var environment = new Dictionary<string, string>();
        var inService = false;
        var inEnvironment = false;
        foreach (var line in lines)
        {
            if (line.Trim().Length == 0 || line.TrimStart().StartsWith('#'))
            {
                continue;
            }

            var indent = line.Length - line.TrimStart().Length;
            if (indent == 2)
            {
                inService = line.Trim() == service + ":";
                inEnvironment = false;
            }
            else if (inService && indent == 4)
            {
                inEnvironment = line.Trim() == "environment:";
            }
            else if (inEnvironment && indent == 6)
            {
                // A name without a value is taken from the environment of `docker-compose up`: unset here.
                var colon = line.IndexOf(':');
                var value = line[(colon + 1)..].Trim();
                if (value.Length > 0)
                {
                    environment[line[..colon].Trim()] = value.Trim('"');
                }
            }
        }

        return environment.Count > 0 ? environment : throw new InvalidOperationException($"No environment for service '{service}' in docker-compose.yml");
    }
}
