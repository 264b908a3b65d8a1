using System.Diagnostics;
using System.Net.WebSockets;

namespace Chat.Orleans.Tests.Infrastructure;

/// <summary>
/// A member that never reconnects: it joins once, sends at a steady pace, and records everything it
/// receives (messages, roster, errors, a close). The continuity tests require that it never needs to.
/// </summary>
public sealed class SteadyMember : IAsyncDisposable
{
    private readonly TestChatClient _client;
    private readonly Lock _lock = new();
    private readonly List<(long Timestamp, string Name, string Message, TimeSpan At)> _messages = [];
    private readonly Dictionary<string, int> _roster = [];
    private readonly List<string> _rosterChanges = [];
    private readonly List<string> _errors = [];

    // The presence list as the frames give it (PROTOCOL.md, "Presence"): "name" or "name@user" to sockets.
    private readonly Dictionary<string, int> _presence = [];

    // Every frame, with the UTC time it arrived: for a failing test's report.
    private readonly List<string> _frames = [];

    // The `user` of each chat message received (null: none), by its timestamp.
    private readonly Dictionary<long, string?> _userOf = [];
    private readonly bool _withIds;
    private Task? _receiving;
    private int _sent;
    private volatile bool _left;

    private SteadyMember(TestChatClient client, string room, string name, bool withIds)
    {
        _client = client;
        Room = room;
        Name = name;
        _withIds = withIds;
    }

    public string Room { get; }

    public string Name { get; }

    /// <summary>The close status, once the server closed the socket (it must not).</summary>
    public WebSocketCloseStatus? ClosedWith { get; private set; }

    public bool Closed { get; private set; }

    /// <summary>Messages this member sent (its socket accepted them).</summary>
    public int Sent => _sent;

    /// <summary>
    /// Joins; <paramref name="withIds"/> sends each message with an <c>id</c> (the page's way), else none (the
    /// original client's); with a <paramref name="token"/> it signs in (PROTOCOL.md, "Identity").
    /// </summary>
    public static async Task<SteadyMember> JoinAsync(Uri endpoint, string room, string name, string address, bool withIds, string? token = null, string[]? caps = null)
    {
        var client = await TestChatClient.ConnectAsync(endpoint, address);
        var member = new SteadyMember(client, room, name, withIds);
        var nameFrame = new Dictionary<string, object> { ["name"] = name };
        if (token is not null)
        {
            nameFrame["token"] = token;
        }

        if (caps is not null)
        {
            nameFrame["caps"] = caps;
        }

        foreach (var frame in await client.JoinAsync(nameFrame))
        {
            member.Record(frame, TimeSpan.Zero);
        }

        return member;
    }

    public List<(long Timestamp, string Name, string Message, TimeSpan At)> Messages
    {
        get
        {
            lock (_lock)
            {
                return [.. _messages];
            }
        }
    }

    /// <summary>The <c>user</c> the chat message with <paramref name="timestamp"/> came with (null: none).</summary>
    public string? UserOf(long timestamp)
    {
        lock (_lock)
        {
            return _userOf.GetValueOrDefault(timestamp);
        }
    }

    /// <summary>The presence list received (for a member with the presence capability): "name" or "name@user", and sockets.</summary>
    public Dictionary<string, int> Presence
    {
        get
        {
            lock (_lock)
            {
                return new Dictionary<string, int>(_presence);
            }
        }
    }

    public Dictionary<string, int> Roster
    {
        get
        {
            lock (_lock)
            {
                return new(_roster);
            }
        }
    }

    /// <summary>Every roster frame received, in order ("+name" joined, "-name" quit, with the time): for reports.</summary>
    public string RosterHistory
    {
        get
        {
            lock (_lock)
            {
                return string.Join(" ", _rosterChanges);
            }
        }
    }

    /// <summary>
    /// The last <paramref name="count"/> frames received, each with its UTC arrival time (as in the
    /// gateways' and silos' log lines), and how the socket ended: for a failing test's report.
    /// </summary>
    public string FrameHistory(int count)
    {
        lock (_lock)
        {
            var lines = _frames.Skip(Math.Max(0, _frames.Count - count)).Select(frame => "    " + frame);
            var end = Closed ? $"    (socket closed by the server: {ClosedWith?.ToString() ?? "no close frame"})" : "    (socket open)";
            return string.Join(Environment.NewLine, lines.Append(end));
        }
    }

    public List<string> Errors
    {
        get
        {
            lock (_lock)
            {
                return [.. _errors];
            }
        }
    }

    /// <summary>Records frames until the socket closes.</summary>
    public void StartReceiving(Stopwatch clock) => _receiving = ReceiveAsync(clock);

    /// <summary>Sends one message every <paramref name="interval"/> until <paramref name="stop"/>.</summary>
    public async Task SendAsync(TimeSpan interval, CancellationToken stop)
    {
        using var timer = new PeriodicTimer(interval);
        try
        {
            while (await timer.WaitForNextTickAsync(stop))
            {
                var n = Interlocked.Increment(ref _sent);
                var text = $"{Name} {n}";
                await (_withIds ? _client.SendAsync(new { message = text, id = $"{Name}-{n}" }) : _client.SendAsync(new { message = text }));
            }
        }
        catch (OperationCanceledException)
        {
        }
        catch (Exception) when (_left || Closed)
        {
            // It left (the test closed its socket), or the server closed it, which the tests report.
        }
    }

    public async ValueTask DisposeAsync()
    {
        _left = true;
        await _client.DisposeAsync();
        if (_receiving is not null)
        {
            await _receiving;
        }
    }

    private async Task ReceiveAsync(Stopwatch clock)
    {
        try
        {
            while (true)
            {
                Record(await _client.NextAsync(Timeout.InfiniteTimeSpan), clock.Elapsed);
            }
        }
        catch (InvalidOperationException)
        {
            // The socket closed: by the test (dispose) or, which the tests report, by the server.
            Closed = true;
            ClosedWith = _client.Closed.IsCompleted ? await _client.Closed : null;
        }
    }

    private void ApplyPresence(System.Text.Json.JsonElement entry)
    {
        var person = TestChatClient.Str(entry, "user") is { } user ? $"{TestChatClient.Str(entry, "name")}@{user}" : TestChatClient.Str(entry, "name")!;
        var sockets = entry.GetProperty("sockets").GetInt32();
        if (sockets == 0)
        {
            _presence.Remove(person);
        }
        else
        {
            _presence[person] = sockets;
        }
    }

    private void Record(System.Text.Json.JsonElement frame, TimeSpan at)
    {
        lock (_lock)
        {
            _frames.Add($"{DateTime.UtcNow:HH:mm:ss.fff} {Name} got {frame.GetRawText()}");
            if (TestChatClient.Str(frame, "error") is { } error)
            {
                _errors.Add(error);
            }
            else if (TestChatClient.Str(frame, "joined") is { } joined)
            {
                _rosterChanges.Add($"+{joined}@{at.TotalSeconds:0.0}");
                _roster[joined] = _roster.GetValueOrDefault(joined) + 1;
            }
            else if (TestChatClient.Str(frame, "quit") is { } quit)
            {
                _rosterChanges.Add($"-{quit}@{at.TotalSeconds:0.0}");
                // A quit for a name not on the roster shows as a negative count, which the tests catch.
                var count = _roster.GetValueOrDefault(quit) - 1;
                if (count == 0)
                {
                    _roster.Remove(quit);
                }
                else
                {
                    _roster[quit] = count;
                }
            }
            else if (frame.TryGetProperty("presence", out var presence))
            {
                if (presence.ValueKind == System.Text.Json.JsonValueKind.Array)
                {
                    _presence.Clear();
                    foreach (var entry in presence.EnumerateArray())
                    {
                        ApplyPresence(entry);
                    }
                }
                else
                {
                    ApplyPresence(presence);
                }
            }
            else if (frame.TryGetProperty("timestamp", out var timestamp))
            {
                _messages.Add((timestamp.GetInt64(), TestChatClient.Str(frame, "name")!, TestChatClient.Str(frame, "message")!, at));
                _userOf[timestamp.GetInt64()] = TestChatClient.Str(frame, "user");
            }
        }
    }
}
