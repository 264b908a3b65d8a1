using System.Diagnostics;
using Xunit.Abstractions;

namespace Chat.Orleans.Tests.Faults;

/// <summary>
/// The chat on a highly available PostgreSQL (scripts/postgres-ha.sh: a monitor, a primary, a
/// synchronous standby), with two silos and two gateways.
/// </summary>
public sealed class HaCluster : ChatCluster
{
    public HaPostgresServer Database => (HaPostgresServer)Postgres;

    public ChatGateway SecondGateway { get; private set; } = null!;

    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        await StartSiloAsync();
        SecondGateway = await StartGatewayAsync();
    }

    protected override async Task<PostgresServer> StartPostgresAsync() => await HaPostgresServer.StartNewAsync();

    protected override void ConfigureSilo(IDictionary<string, string?> settings)
    {
        settings["Chat:Room:SubscriptionLease"] = "00:00:03";
        // Posts wait through a failover as long as they would in production.
        settings.Remove("Chat:MessageLog:OutageTimeout");
    }

    protected override void ConfigureGateway(IDictionary<string, string?> settings)
    {
        settings["Chat:Gateway:SubscriptionRenewal"] = "00:00:01";
        settings["Chat:Gateway:RateLimitEnabled"] = "false";
    }
}

/// <summary>
/// Faults of the database, not of the chat: the primary killed the hard way, twice (the second time
/// after the first one came back as the standby), and a planned switchover, each under steady posting in
/// many rooms. Members must see nothing of it but a pause: no error, no closed socket, nothing lost or
/// doubled.
/// </summary>
public sealed class PostgresFailoverTests(HaCluster cluster, ITestOutputHelper output) : IClassFixture<HaCluster>
{
    private const int Rooms = 12;
    private static readonly TimeSpan SendInterval = TimeSpan.FromMilliseconds(200);
    private static readonly TimeSpan ResumeTimeout = TimeSpan.FromSeconds(45);

    [Fact]
    public async Task A_dead_primary_costs_members_nothing_and_so_does_the_next_one_after_it_rejoined()
    {
        await using var load = await RoomLoad.StartAsync(cluster, "fo", Rooms, SendInterval);

        await FailOverAsync(load, "primary killed", database => CrashPrimaryAsync(database));

        // The old primary comes back by itself as the standby (pg_rewind), and the next failover goes back to it.
        var rejoin = Stopwatch.StartNew();
        await cluster.Database.RejoinAsync();
        output.WriteLine($"old primary rejoined as the standby in {rejoin.ElapsedMilliseconds} ms: {await cluster.Database.StateAsync()}");
        await FailOverAsync(load, "new primary killed", database => CrashPrimaryAsync(database));

        await load.StopAndVerifyAsync(output);
        await cluster.Database.RejoinAsync();
    }

    [Fact]
    public async Task A_planned_switchover_under_load_shows_no_error()
    {
        await using var load = await RoomLoad.StartAsync(cluster, "sw", Rooms, SendInterval);
        await FailOverAsync(load, "switchover", database => database.SwitchoverAsync());
        await load.StopAndVerifyAsync(output);
    }

    private static async Task CrashPrimaryAsync(HaPostgresServer database) => await database.CrashAsync(await database.PrimaryAsync());

    /// <summary>
    /// Waits for traffic everywhere, causes <paramref name="fault"/>, and waits until every room relays
    /// messages stored after it; prints the pause per room, counted from the start of the fault.
    /// </summary>
    private async Task FailOverAsync(RoomLoad load, string label, Func<HaPostgresServer, Task> fault)
    {
        await load.WaitForTrafficAsync();
        var primary = await cluster.Database.PrimaryAsync();

        // Acknowledged means on both data nodes: the standby replicates synchronously.
        var replication = await cluster.Postgres.ScalarAsync<string>("SELECT coalesce(string_agg(sync_state, ','), 'no standby') FROM pg_stat_replication");
        Assert.Contains(replication, new[] { "sync", "quorum" });
        var faultStarted = load.Clock.Elapsed;
        await fault(cluster.Database);
        // A message with a later timestamp was stored after the old primary was gone: by the new one.
        var afterFault = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var faultDone = load.Clock.Elapsed;

        await load.WaitUntilRelayedAfterAsync(afterFault, ResumeTimeout, label);
        var newPrimary = await cluster.Database.PrimaryAsync();
        Assert.NotEqual(primary, newPrimary);

        var pauses = load.Rooms.Select(room => (load.FirstReceivedAfter(room, afterFault) - faultStarted).TotalMilliseconds).Order().ToList();
        output.WriteLine(
            $"{label} ({primary} -> {newPrimary}; the fault took {(faultDone - faultStarted).TotalMilliseconds:F0} ms): first relayed message per room " +
            $"after p50 {pauses[pauses.Count / 2]:F0} ms, max {pauses[^1]:F0} ms; error frames so far {load.ErrorFrames}, sockets closed {load.SocketsClosed}");
    }

    /// <summary>Two members per room, one on each gateway, both sending; every member is recorded.</summary>
    private sealed class RoomLoad : IAsyncDisposable
    {
        private readonly HaCluster _cluster;
        private readonly List<SteadyMember> _members;
        private readonly CancellationTokenSource _stop = new();
        private List<Task> _sending = [];
        private int _trafficMark;

        private RoomLoad(HaCluster cluster, string[] rooms, List<SteadyMember> members)
        {
            _cluster = cluster;
            Rooms = rooms;
            _members = members;
        }

        public Stopwatch Clock { get; } = Stopwatch.StartNew();

        public string[] Rooms { get; }

        public int ErrorFrames => _members.Sum(m => m.Errors.Count);

        public int SocketsClosed => _members.Count(m => m.Closed);

        public static async Task<RoomLoad> StartAsync(HaCluster cluster, string prefix, int rooms, TimeSpan interval)
        {
            var names = Enumerable.Range(0, rooms).Select(i => $"{prefix}{i}-{Guid.NewGuid():N}"[..20]).ToArray();
            var members = new List<SteadyMember>();
            foreach (var room in names)
            {
                // The page's way (ids) on one gateway, the original client's (none) on the other.
                members.Add(await SteadyMember.JoinAsync(cluster.Gateway.WebSocketUri(room), room, $"{room[..4]}a", ClientAddresses.New(), withIds: true));
                members.Add(await SteadyMember.JoinAsync(cluster.SecondGateway.WebSocketUri(room), room, $"{room[..4]}b", ClientAddresses.New(), withIds: false));
            }

            var load = new RoomLoad(cluster, names, members);
            foreach (var member in members)
            {
                member.StartReceiving(load.Clock);
            }

            load._sending = [.. members.Select(m => m.SendAsync(interval, load._stop.Token))];
            return load;
        }

        /// <summary>Waits until every member has received 10 more messages than at the last call.</summary>
        public async Task WaitForTrafficAsync()
        {
            var mark = _trafficMark + 10;
            await Poll.UntilAsync(() => _members.All(m => m.Messages.Count >= mark), TimeSpan.FromSeconds(60));
            _trafficMark = _members.Min(m => m.Messages.Count);
        }

        public async Task WaitUntilRelayedAfterAsync(long timestamp, TimeSpan timeout, string what)
        {
            try
            {
                await Poll.UntilAsync(() => _members.All(m => m.Messages.Count(x => x.Timestamp > timestamp) >= 5), timeout);
            }
            catch (TimeoutException)
            {
                var lagging = _members.Where(m => m.Messages.Count(x => x.Timestamp > timestamp) < 5).ToList();
                throw new TimeoutException($"{what}: {lagging.Count} members got no messages stored after the fault; the first:\n{lagging[0].FrameHistory(20)}");
            }

            _trafficMark = _members.Min(m => m.Messages.Count);
        }

        /// <summary>When the room's first message stored after <paramref name="timestamp"/> reached its first member.</summary>
        public TimeSpan FirstReceivedAfter(string room, long timestamp) =>
            _members.Where(m => m.Room == room).SelectMany(m => m.Messages).Where(x => x.Timestamp > timestamp).Min(x => x.At);

        /// <summary>
        /// Stops sending, waits until everything sent is stored and everything stored has arrived, and
        /// checks each member's stream against its room's log.
        /// </summary>
        public async Task StopAndVerifyAsync(ITestOutputHelper output)
        {
            await _stop.CancelAsync();
            await Task.WhenAll(_sending);

            // Posts caught by a fault may still be on their way: every one a member sent must get stored.
            var stored = new Dictionary<string, List<(long Timestamp, string Name, string Message)>>();
            await Poll.UntilAsync(
                async () =>
                {
                    foreach (var room in Rooms)
                    {
                        stored[room] = await _cluster.Postgres.MessagesAsync(room);
                    }

                    return _members.All(m => Enumerable.Range(1, m.Sent).All(n => stored[m.Room].Any(x => x.Message == $"{m.Name} {n}")));
                },
                TimeSpan.FromSeconds(30),
                TimeSpan.FromMilliseconds(500));
            await Poll.UntilAsync(() => _members.All(m => m.Messages.Count >= stored[m.Room].Count), TimeSpan.FromSeconds(30));

            foreach (var member in _members)
            {
                Assert.False(member.Closed, $"{member.Name}'s socket closed ({member.ClosedWith})");
                Assert.Empty(member.Errors);
                // Exactly the log, in its order: nothing lost, nothing shown twice, nothing that was not stored.
                Assert.Equal(stored[member.Room], member.Messages.Select(x => (x.Timestamp, x.Name, x.Message)).ToList());
            }

            foreach (var room in Rooms)
            {
                Assert.Equal(stored[room].Count, stored[room].Select(x => x.Message).Distinct().Count());
            }

            output.WriteLine(
                $"{_members.Sum(m => m.Sent)} messages sent, {stored.Values.Sum(s => s.Count)} stored once each, " +
                $"{_members.Sum(m => m.Messages.Count)} deliveries, every member's stream equal to its room's log; " +
                $"error frames {ErrorFrames}, sockets closed {SocketsClosed}");
        }

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync();
            await Task.WhenAll(_sending);
            foreach (var member in _members)
            {
                await member.DisposeAsync();
            }

            _stop.Dispose();
        }
    }
}
