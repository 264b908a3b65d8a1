using System.Collections.Concurrent;

namespace Chat.Orleans.Tests.Faults;

/// <summary>PostgreSQL, and a silo in its own process that the test kills; the gateway stays up.</summary>
public sealed class SiloCrashCluster : ChatCluster
{
    public SiloProcess SiloProcess { get; private set; } = null!;

    public override async Task InitializeAsync()
    {
        Postgres = await PostgresServer.StartNewAsync();
        SiloProcess = StartSiloProcess();
        Gateway = await StartGatewayAsync();
    }
}

/// <summary>The output gate under a real crash: what any member saw must be in the history.</summary>
public sealed class SiloCrashTests(SiloCrashCluster cluster) : IClassFixture<SiloCrashCluster>
{
    private const int Senders = 10;
    private const int MessagesEach = 5;

    [Fact]
    public async Task No_message_any_member_received_is_missing_from_history_after_the_silo_is_killed()
    {
        var room = "crash-" + Guid.NewGuid().ToString("N")[..8];
        var clients = new List<TestChatClient>();
        for (var i = 0; i < Senders; i++)
        {
            // Each sender has its own address, so the rate limit lets its burst through.
            clients.Add(await cluster.JoinAsync(room, $"sender{i}", $"10.77.0.{i + 1}"));
        }

        var firstEchoes = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var echoes = 0;
        var outcomes = clients.Select(async (client, i) =>
        {
            // Fire the whole burst without waiting, so that messages are in flight when the silo dies.
            for (var n = 0; n < MessagesEach; n++)
            {
                await client.SendAsync(new { message = $"sender{i} message {n}" });
            }

            // A send ends as its own echo, as an error frame, or silently: stored just before the
            // crash but never relayed (allowed: it is in the history, nobody saw it live). Calls into
            // the cluster fail within the gateway's call timeout (10 s), so once a socket has been
            // quiet for longer than that, nothing more will come on it.
            var settled = 0;
            try
            {
                while (settled < MessagesEach)
                {
                    var frame = await client.NextAsync(TimeSpan.FromSeconds(15));
                    if (TestChatClient.Str(frame, "name") == $"sender{i}" || frame.TryGetProperty("error", out _))
                    {
                        settled++;
                    }

                    if (frame.TryGetProperty("timestamp", out _) && Interlocked.Increment(ref echoes) == 10)
                    {
                        firstEchoes.TrySetResult();
                    }
                }
            }
            catch (Exception exception) when (exception is InvalidOperationException or OperationCanceledException)
            {
                // The socket closed, or went quiet: nothing more can arrive on it.
            }
        }).ToList();

        await firstEchoes.Task.WaitAsync(TimeSpan.FromSeconds(30));
        await cluster.SiloProcess.KillAsync();
        await Task.WhenAll(outcomes).WaitAsync(TimeSpan.FromSeconds(120));

        var received = new ConcurrentDictionary<(long, string, string), int>();
        foreach (var client in clients)
        {
            foreach (var frame in client.Received.Where(f => f.TryGetProperty("timestamp", out _)))
            {
                received.TryAdd((frame.GetProperty("timestamp").GetInt64(), TestChatClient.Str(frame, "name")!, TestChatClient.Str(frame, "message")!), 0);
            }
        }

        var stored = (await cluster.Postgres.MessagesAsync(room)).ToHashSet();
        Assert.NotEmpty(received);
        Assert.All(received.Keys, message => Assert.Contains(message, stored));

        foreach (var client in clients)
        {
            await client.DisposeAsync();
        }
    }
}
