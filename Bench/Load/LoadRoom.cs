namespace Chat.Orleans.Bench.Load;

/// <summary>One room as the worker sees it: its members (all in this worker) and what was sent to it.</summary>
public sealed class LoadRoom(string name, int members)
{
    public string Name { get; } = name;

    public LoadClient?[] Members { get; } = new LoadClient?[members];

    public long Sent;
    public long Rejected;

    /// <summary>The slowest delivery in this room in the current phase, in µs.</summary>
    public long MaxLatency;

    /// <summary>Members that got `ready` and are not closed; kept by the clients, read on every drain poll.</summary>
    public int Live;

    /// <summary>
    /// Raises <see cref="MaxLatency"/> to this delivery's latency if it is the slowest yet. Atomic: after a
    /// silo failover a room's held messages reach all its members at once, on several threads, and a
    /// plain read-then-write could put a smaller figure over the largest.
    /// </summary>
    public void RecordLatency(long microseconds) => LatencyHistogram.RaiseTo(ref MaxLatency, microseconds);
}
