using System.Collections.Concurrent;
using System.Diagnostics;

namespace Chat.Orleans.Tests.Infrastructure;

/// <summary>
/// A member that keeps chatting like a real client: it sends at a steady pace, and when its socket
/// closes it reconnects (with a short backoff, as the chat page does) and rejoins.
/// </summary>
public sealed class Chatter(Func<Uri> endpoint, string name, string address, TimeSpan interval)
{
    private int _sent;

    public string Name { get; } = name;

    /// <summary>Chat messages received, per connection, with the time they arrived.</summary>
    public ConcurrentQueue<List<(long Timestamp, string Name, string Message, TimeSpan At)>> Connections { get; } = new();

    public int Reconnects { get; private set; }

    /// <summary>Error frames received (a storage outage shows up here; a failover must not).</summary>
    public ConcurrentQueue<string> Errors { get; } = new();

    /// <summary>A snapshot of everything received, safe to read while the chatter runs.</summary>
    public List<(long Timestamp, string Name, string Message, TimeSpan At)> AllReceived
    {
        get
        {
            var all = new List<(long, string, string, TimeSpan)>();
            foreach (var connection in Connections)
            {
                lock (connection)
                {
                    all.AddRange(connection);
                }
            }

            return all;
        }
    }

    public async Task RunAsync(Stopwatch clock, CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            var received = new List<(long, string, string, TimeSpan)>();
            Connections.Enqueue(received);
            try
            {
                await using var client = await TestChatClient.ConnectAsync(endpoint(), address);
                await client.SendAsync(new { name = Name });
                var sending = SendLoopAsync(client, stop);
                while (!stop.IsCancellationRequested)
                {
                    var frame = await client.NextAsync(TimeSpan.FromSeconds(30)).WaitAsync(stop);
                    if (TestChatClient.Str(frame, "error") is { } error)
                    {
                        Errors.Enqueue(error);
                    }

                    if (frame.TryGetProperty("timestamp", out var timestamp))
                    {
                        lock (received)
                        {
                            received.Add((timestamp.GetInt64(), TestChatClient.Str(frame, "name")!, TestChatClient.Str(frame, "message")!, clock.Elapsed));
                        }
                    }
                }

                await sending;
            }
            catch (Exception) when (!stop.IsCancellationRequested)
            {
                Reconnects++;
                await Task.Delay(TimeSpan.FromMilliseconds(200 + Random.Shared.Next(300)), CancellationToken.None);
            }
            catch (OperationCanceledException)
            {
            }
        }
    }

    private async Task SendLoopAsync(TestChatClient client, CancellationToken stop)
    {
        using var timer = new PeriodicTimer(interval);
        try
        {
            while (await timer.WaitForNextTickAsync(stop))
            {
                await client.SendAsync(new { message = $"{Name} {Interlocked.Increment(ref _sent)}" });
            }
        }
        catch (Exception)
        {
            // The receive side notices the closed socket and reconnects.
        }
    }
}
