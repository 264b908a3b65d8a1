namespace Chat.Orleans.Bench.Load;

/// <summary>What one load worker process does: which rooms on which server, from which source address.</summary>
/// <param name="Endpoint">The server's base address, e.g. ws://127.0.0.1:18080.</param>
/// <param name="SourceAddress">Each worker binds its own loopback address, so that no address pair runs out of ephemeral ports.</param>
/// <param name="HistoryMessages">Join mode: messages each room holds before the measured joins.</param>
/// <param name="Cold">Join mode: the seeding clients leave, so the measured join activates the room again.</param>
/// <param name="SigningKey">When set, every client signs in with a token of its own signed with this key (PROTOCOL.md, "Identity").</param>
/// <param name="Rich">Every client asks for every capability (PROTOCOL.md, "Rich rooms"), and one frame in ten it sends is a typing hint or a reaction instead of a message.</param>
public sealed record LoadPlan(
    string Mode,
    string Endpoint,
    string SourceAddress,
    string RoomPrefix,
    int FirstRoom,
    int Rooms,
    int MembersPerRoom,
    int ConnectConcurrency = 200,
    int HistoryMessages = 0,
    bool Cold = false,
    string? SigningKey = null,
    bool Rich = false);

/// <summary>One line a worker prints: after joining, after each send phase, or after the join measurement.</summary>
/// <param name="WindowLatency">A send phase: the deliveries received within the window its command named.</param>
/// <param name="RoomMaxMicroseconds">A send phase: each room's slowest delivery, in the order of the worker's rooms.</param>
public sealed record WorkerReport(
    string Kind,
    int Connected = 0,
    int Failed = 0,
    int Refused = 0,
    double Seconds = 0,
    long Sent = 0,
    long Skipped = 0,
    long Rejected = 0,
    long Expected = 0,
    long Delivered = 0,
    long Duplicates = 0,
    long OutOfOrder = 0,
    long Closed = 0,
    long HistoryShort = 0,
    int SlowRooms = 0,
    long[][]? Latency = null,
    long MaxMicroseconds = 0,
    string? FirstError = null,
    long[][]? WindowLatency = null,
    long WindowMaxMicroseconds = 0,
    long[]? RoomMaxMicroseconds = null);
