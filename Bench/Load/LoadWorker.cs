using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Chat.Orleans.Bench.Load;

/// <summary>
/// A load worker process: connects its rooms' members, then obeys commands on stdin ("send RATE SECONDS
/// [FROM TO]", "exit") and prints one JSON report per step on stdout. All members of a room live in one worker, so
/// it can tell lost, duplicated and misordered deliveries without talking to the other workers.
/// </summary>
public sealed class LoadWorker
{
    private static readonly TimeSpan JoinTimeout = TimeSpan.FromSeconds(60);

    // What has not arrived this long after the last send counts as lost (late is in the latency).
    private static readonly TimeSpan DrainTimeout = TimeSpan.FromSeconds(15);

    private readonly LoadPlan _plan;
    private long _sends;
    private readonly LoadRoom[] _rooms;
    private readonly LatencyHistogram _latency = new();

    // Deliveries received between two instants of the phase that the suite names (Stopwatch timestamps,
    // the monotonic clock every process shares): e.g. the 10 s after it kills a silo.
    private readonly LatencyHistogram _windowLatency = new();
    private readonly HttpMessageInvoker _invoker;
    private volatile int _phase = -1;
    private long _windowFrom;
    private long _windowTo;
    private long _delivered;
    private long _duplicates;
    private long _outOfOrder;
    private long _closed;
    private string? _firstError;

    private LoadWorker(LoadPlan plan)
    {
        _plan = plan;
        _rooms = [.. Enumerable.Range(plan.FirstRoom, plan.Rooms).Select(room => new LoadRoom(plan.RoomPrefix + room, plan.MembersPerRoom))];
        var source = IPAddress.Parse(plan.SourceAddress);
        _invoker = new HttpMessageInvoker(new SocketsHttpHandler
        {
            ConnectCallback = async (context, cancellation) =>
            {
                var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
                try
                {
                    // IP_BIND_ADDRESS_NO_PORT: pick the port at connect, per destination, not at bind.
                    socket.SetRawSocketOption(0, 24, BitConverter.GetBytes(1));
                    socket.Bind(new IPEndPoint(source, 0));
                    await socket.ConnectAsync(context.DnsEndPoint, cancellation);
                    return new NetworkStream(socket, ownsSocket: true);
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
            },
        });
    }

    public static async Task<int> RunAsync(string[] args)
    {
        var plan = JsonSerializer.Deserialize<LoadPlan>(args[0], BenchJson.Options)!;
        var worker = new LoadWorker(plan);
        if (plan.Mode == "join")
        {
            Report(await worker.MeasureJoinsAsync());
            return 0;
        }

        Report(await worker.JoinAllAsync());
        while (Console.ReadLine() is { } command)
        {
            var words = command.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (words is ["send", var rate, var seconds, .. var window] && window.Length is 0 or 2)
            {
                var (from, to) = window is [var first, var last] ? (long.Parse(first, CultureInfo.InvariantCulture), long.Parse(last, CultureInfo.InvariantCulture)) : (0L, 0L);
                Report(await worker.RunPhaseAsync(double.Parse(rate, CultureInfo.InvariantCulture), double.Parse(seconds, CultureInfo.InvariantCulture), from, to));
            }
            else
            {
                break;
            }
        }

        worker.AbortAll();
        return 0;
    }

    /// <param name="receivedAt">Stopwatch timestamp of the receipt, for the window.</param>
    public void OnDelivered(LoadRoom room, int phase, long receivedAt, long microseconds)
    {
        if (phase != _phase)
        {
            return;
        }

        Interlocked.Increment(ref _delivered);
        _latency.Record(microseconds);
        room.RecordLatency(microseconds);
        if (receivedAt >= _windowFrom && receivedAt < _windowTo)
        {
            _windowLatency.Record(microseconds);
        }
    }

    public void OnMisordered(bool duplicate)
    {
        if (duplicate)
        {
            Interlocked.Increment(ref _duplicates);
        }
        else
        {
            Interlocked.Increment(ref _outOfOrder);
        }
    }

    public void OnClosed(LoadClient client) => Interlocked.Increment(ref _closed);

    public void OnError(ReadOnlySpan<byte> frame) =>
        Interlocked.CompareExchange(ref _firstError, System.Text.Encoding.UTF8.GetString(frame), null);

    private static void Report(WorkerReport report) => Console.Out.WriteLine(JsonSerializer.Serialize(report, BenchJson.Options));

    /// <summary>The name frame of one client: with a token of its own when the plan signs clients in.</summary>
    internal byte[] NameFrame(LoadRoom room, int member)
    {
        var name = $"u{member}";
        var caps = _plan.Rich ? ""","caps":["typing","reactions","edits","presence"]""" : "";
        if (_plan.SigningKey is not { } key)
        {
            return Encoding.UTF8.GetBytes($$"""{"name":"{{name}}"{{caps}}}""");
        }

        var token = new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
        {
            Claims = new Dictionary<string, object> { ["sub"] = $"{room.Name}-{member}" },
            Expires = DateTime.UtcNow.AddHours(1),
            SigningCredentials = new SigningCredentials(new SymmetricSecurityKey(Encoding.UTF8.GetBytes(key)), SecurityAlgorithms.HmacSha256),
        });
        return Encoding.UTF8.GetBytes($$"""{"name":"{{name}}","token":"{{token}}"{{caps}}}""");
    }

    /// <summary>Rich plans: true for one send in ten of this worker, which is then a typing hint or a reaction.</summary>
    internal bool Rich => _plan.Rich;

    internal bool TakeRichTurn() => _plan.Rich && Interlocked.Increment(ref _sends) % 10 == 0;

    private Uri RoomUri(LoadRoom room) => new($"{_plan.Endpoint}/api/room/{room.Name}/websocket");

    private async Task<WorkerReport> JoinAllAsync()
    {
        var started = Stopwatch.GetTimestamp();
        var joins = new LatencyHistogram();
        int connected = 0, failed = 0, refused = 0;
        using var gate = new SemaphoreSlim(_plan.ConnectConcurrency);
        var tasks = new List<Task>();
        foreach (var room in _rooms)
        {
            for (var member = 0; member < room.Members.Length; member++)
            {
                await gate.WaitAsync();
                var client = new LoadClient(this, room, member);
                room.Members[member] = client;
                tasks.Add(JoinOneAsync(client));
            }
        }

        await Task.WhenAll(tasks);
        return new WorkerReport("joined", connected, failed, refused, Stopwatch.GetElapsedTime(started).TotalSeconds,
            Latency: joins.ToSparse(), MaxMicroseconds: joins.MaxMicroseconds, FirstError: _firstError);

        async Task JoinOneAsync(LoadClient client)
        {
            try
            {
                using var timeout = new CancellationTokenSource(JoinTimeout);
                joins.Record(await client.JoinAsync(RoomUri(client.Room), _invoker, timeout.Token));
                Interlocked.Increment(ref connected);
            }
            catch (ConnectionRefusedException)
            {
                client.Abort();
                Interlocked.Increment(ref refused);
            }
            catch (Exception exception)
            {
                client.Abort();
                Interlocked.CompareExchange(ref _firstError, exception.Message, null);
                Interlocked.Increment(ref failed);
            }
            finally
            {
                gate.Release();
            }
        }
    }

    /// <summary>
    /// Every member sends at `rate` messages/s, spread evenly over time, for `seconds`; then waits (at most
    /// a few seconds) for the deliveries still in flight. Deliveries received from <paramref name="windowFrom"/>
    /// up to <paramref name="windowTo"/> (Stopwatch timestamps; 0 and 0: none) are also counted apart.
    /// </summary>
    private async Task<WorkerReport> RunPhaseAsync(double rate, double seconds, long windowFrom, long windowTo)
    {
        var clients = _rooms.SelectMany(room => room.Members).OfType<LoadClient>().Where(client => client.IsReady && !client.IsClosed).ToArray();
        foreach (var room in _rooms)
        {
            room.Sent = 0;
            room.Rejected = 0;
            room.MaxLatency = 0;
        }

        _latency.Reset();
        _windowLatency.Reset();
        _windowFrom = windowFrom;
        _windowTo = windowTo;
        Interlocked.Exchange(ref _delivered, 0);
        var duplicatesBefore = Interlocked.Read(ref _duplicates);
        var outOfOrderBefore = Interlocked.Read(ref _outOfOrder);
        var closedBefore = Interlocked.Read(ref _closed);
        _phase++;

        long sent = 0, skipped = 0;
        var totalRate = rate * clients.Length;

        // A dedicated thread paces the sends: the thread pool is busy receiving.
        var pacer = new Thread(() =>
        {
            var started = Stopwatch.GetTimestamp();
            var next = 0;
            while (true)
            {
                var elapsed = Stopwatch.GetElapsedTime(started).TotalSeconds;
                if (elapsed >= seconds)
                {
                    break;
                }

                var due = (long)(elapsed * totalRate);
                while (sent + skipped < due && clients.Length > 0)
                {
                    if (clients[next].TrySend(_phase))
                    {
                        sent++;
                    }
                    else
                    {
                        skipped++;
                    }

                    next = (next + 1) % clients.Length;
                }

                Thread.Sleep(1);
            }
        })
        { IsBackground = true, Name = "pacer" };
        pacer.Start();
        await Task.Run(pacer.Join);

        var drainStarted = Stopwatch.GetTimestamp();
        long expected;
        do
        {
            expected = _rooms.Sum(room => (Interlocked.Read(ref room.Sent) - Interlocked.Read(ref room.Rejected)) * Volatile.Read(ref room.Live));
            if (Interlocked.Read(ref _delivered) >= expected)
            {
                break;
            }

            await Task.Delay(10);
        }
        while (Stopwatch.GetElapsedTime(drainStarted) < DrainTimeout);

        return new WorkerReport("phase",
            Connected: clients.Count(client => !client.IsClosed),
            Seconds: seconds,
            Sent: sent,
            Skipped: skipped,
            Rejected: _rooms.Sum(room => Interlocked.Read(ref room.Rejected)),
            Expected: expected,
            Delivered: Interlocked.Read(ref _delivered),
            Duplicates: Interlocked.Read(ref _duplicates) - duplicatesBefore,
            OutOfOrder: Interlocked.Read(ref _outOfOrder) - outOfOrderBefore,
            Closed: Interlocked.Read(ref _closed) - closedBefore,
            SlowRooms: _rooms.Count(room => room.MaxLatency > 100_000),
            Latency: _latency.ToSparse(),
            MaxMicroseconds: _latency.MaxMicroseconds,
            FirstError: _firstError,
            WindowLatency: _windowLatency.ToSparse(),
            WindowMaxMicroseconds: _windowLatency.MaxMicroseconds,
            RoomMaxMicroseconds: [.. _rooms.Select(room => Interlocked.Read(ref room.MaxLatency))]);
    }

    /// <summary>
    /// Join latency with history: a seeding member fills each room with history, then one new member
    /// per room joins, a few at a time, and the time from its name to its `ready` is measured.
    /// </summary>
    private async Task<WorkerReport> MeasureJoinsAsync()
    {
        var seeders = new List<LoadClient>();
        foreach (var chunk in _rooms.Chunk(50))
        {
            await Task.WhenAll(chunk.Select(async room =>
            {
                var seeder = new LoadClient(this, room, 0);
                room.Members[0] = seeder;
                using var timeout = new CancellationTokenSource(JoinTimeout);
                await seeder.JoinAsync(RoomUri(room), _invoker, timeout.Token);
                for (var i = 0; i < _plan.HistoryMessages; i++)
                {
                    await seeder.SendHistoryAsync();
                }

                lock (seeders)
                {
                    seeders.Add(seeder);
                }
            }));
        }

        // Every seeded message is stored once it has come back to its sender.
        var seeded = Stopwatch.GetTimestamp();
        while (seeders.Any(seeder => seeder.OwnEchoes < _plan.HistoryMessages) && Stopwatch.GetElapsedTime(seeded) < JoinTimeout)
        {
            await Task.Delay(10);
        }

        if (_plan.Cold)
        {
            foreach (var seeder in seeders)
            {
                seeder.Abort();
            }

            // An empty room deactivates once its last member has left; give the leaves time to land.
            await Task.Delay(TimeSpan.FromSeconds(3));
        }

        var joins = new LatencyHistogram();
        int connected = 0, failed = 0;
        long historyShort = 0;
        using var gate = new SemaphoreSlim(_plan.ConnectConcurrency);
        await Task.WhenAll(_rooms.Select(async room =>
        {
            await gate.WaitAsync();
            try
            {
                var joiner = new LoadClient(this, room, 1);
                room.Members[1] = joiner;
                using var timeout = new CancellationTokenSource(JoinTimeout);
                joins.Record(await joiner.JoinAsync(RoomUri(room), _invoker, timeout.Token));
                Interlocked.Increment(ref connected);
                if (joiner.HistoryReceived < _plan.HistoryMessages)
                {
                    Interlocked.Increment(ref historyShort);
                }
            }
            catch (Exception exception)
            {
                Interlocked.CompareExchange(ref _firstError, exception.Message, null);
                Interlocked.Increment(ref failed);
            }
            finally
            {
                gate.Release();
            }
        }));

        AbortAll();
        return new WorkerReport("join", connected, failed, HistoryShort: historyShort, Latency: joins.ToSparse(), MaxMicroseconds: joins.MaxMicroseconds, FirstError: _firstError);
    }

    private void AbortAll()
    {
        foreach (var client in _rooms.SelectMany(room => room.Members).OfType<LoadClient>())
        {
            client.Abort();
        }
    }
}
