using System.ComponentModel.DataAnnotations;

namespace Chat.Orleans.Gateway;

public sealed class ChatGatewayOptions
{
    public const string Section = "Chat:Gateway";

    /// <summary>Longest user name, in UTF-16 code units as the original counts (protocol: 32).</summary>
    [Range(1, 1024)]
    public int MaxNameLength { get; set; } = 32;

    /// <summary>Longest message, in UTF-16 code units (protocol: 256).</summary>
    [Range(1, 65536)]
    public int MaxMessageLength { get; set; } = 256;

    /// <summary>
    /// Typing hints of one session that count: at most one per this interval (PROTOCOL.md says 3 s); the
    /// others are dropped silently. Clients show a hint for about 5 s, so one every 3 s keeps it lit.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:01:00")]
    public TimeSpan TypingInterval { get; set; } = TimeSpan.FromSeconds(3);

    /// <summary>
    /// Largest incoming frame in bytes; a bigger one closes the socket with 1009. 4 KiB holds the
    /// longest legal message even with every character escaped.
    /// </summary>
    [Range(256, 1024 * 1024)]
    public int MaxFrameBytes { get; set; } = 4096;

    /// <summary>
    /// Frames waiting to be written to one socket. A client that stops reading fills it, and is then
    /// closed with 1008 so that it slows down nobody else.
    /// </summary>
    [Range(4, 1_000_000)]
    public int SendQueueLimit { get; set; } = 1024;

    /// <summary>A socket that has not sent its name by then is closed with 1008.</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "01:00:00")]
    public TimeSpan NameTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Ping interval; a peer that does not answer within <see cref="KeepAliveTimeout"/> is dropped.</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "01:00:00")]
    public TimeSpan KeepAliveInterval { get; set; } = TimeSpan.FromSeconds(15);

    [Range(typeof(TimeSpan), "00:00:00.100", "01:00:00")]
    public TimeSpan KeepAliveTimeout { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>How long a closing socket may take to flush and finish the close handshake before it is aborted.</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:10:00")]
    public TimeSpan CloseTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>How often subscriptions to rooms are renewed; keep it well under the rooms' lease (30 s).</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:10:00")]
    public TimeSpan SubscriptionRenewal { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// How long a call into the cluster may take before the client gets an error frame. Shorter than
    /// Orleans' default (30 s): a chat user should not stare at a message that never comes.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:10:00")]
    public TimeSpan CallTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// How long a socket that arrives while the gateway is still starting (its Orleans client not yet
    /// connected to the cluster) waits for it before it gets an error frame and 1011. A client that connects
    /// during start-up simply gets its <c>ready</c> a moment later.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:10:00")]
    public TimeSpan StartupJoinTimeout { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>
    /// How long a post whose room could not be reached (its silo died, the call timed out) is tried
    /// again before the client gets an error. Every post carries a key that its room stores once, so
    /// trying again never stores it twice.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:10:00")]
    public TimeSpan PostRetryTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Off for benchmarks only: the per-IP rate limit of the protocol.</summary>
    public bool RateLimitEnabled { get; set; } = true;

    /// <summary>If not empty, WebSocket requests whose Origin is not listed are refused (403).</summary>
    public string[] AllowedOrigins { get; set; } = [];

    /// <summary>
    /// Proxies (addresses) and networks (CIDR) whose X-Forwarded-For and CF-Connecting-IP headers are
    /// believed. Loopback is always trusted.
    /// </summary>
    public string[] TrustedProxies { get; set; } = [];

    public string[] TrustedNetworks { get; set; } = [];

    /// <summary>Trust forwarded headers from loopback (a reverse proxy on the same machine).</summary>
    public bool TrustLoopback { get; set; } = true;

    /// <summary>
    /// Kernel send buffer per socket in bytes (0: the kernel's auto-tuning). A cap bounds kernel memory
    /// per socket, and makes a client that stops reading show up in the send queue sooner.
    /// </summary>
    [Range(0, 64 * 1024 * 1024)]
    public int SocketSendBufferBytes { get; set; }

    /// <summary>
    /// Chat sockets this gateway holds at most; past it, new ones get 503 and the open ones go on.
    /// 0: the process's open-file limit less <see cref="FileReserve"/> (a server that runs out of file
    /// descriptors cannot even accept a connection to refuse it).
    /// </summary>
    [Range(0, 10_000_000)]
    public int MaxSockets { get; set; }

    /// <summary>
    /// Chat sockets one client IP may hold open on this gateway (0: no cap); past it, HTTP 429 before the
    /// upgrade. 256 lets a busy office behind one NAT address in, while one address cannot take more
    /// than a small share of a gateway's ~19 000 sockets.
    /// </summary>
    [Range(0, 10_000_000)]
    public int MaxSocketsPerIp { get; set; } = 256;

    /// <summary>
    /// New chat sockets per client IP per second, sustained (0: no cap), after a burst of
    /// <see cref="JoinBurstPerIp"/>; past it, HTTP 429 with Retry-After before the upgrade.
    /// </summary>
    [Range(0, 1_000_000)]
    public int JoinsPerIpPerSecond { get; set; } = 20;

    /// <summary>
    /// New chat sockets one client IP may open at once: as many as it may hold, so that the whole office
    /// reconnects at once after a gateway restart; reconnect loops beyond it are slowed down.
    /// </summary>
    [Range(1, 10_000_000)]
    public int JoinBurstPerIp { get; set; } = 256;

    /// <summary>
    /// Scrollback requests (<c>GET /api/room/&lt;name&gt;/messages</c>) per client IP per second, after a
    /// burst of <see cref="ScrollbackBurstPerIp"/> (0: no cap); past it, HTTP 429 with Retry-After.
    /// Each one reads up to 100 messages from the database: a page scrolling back asks a few a second.
    /// </summary>
    [Range(0, 1_000_000)]
    public int ScrollbackPerIpPerSecond { get; set; } = 5;

    [Range(1, 1_000_000)]
    public int ScrollbackBurstPerIp { get; set; } = 20;

    /// <summary>Room joins this gateway has in flight at most; more wait their turn (reconnect storms).</summary>
    [Range(1, 100_000)]
    public int MaxConcurrentJoins { get; set; } = 64;

    /// <summary>File descriptors kept free of chat sockets: HTTP requests, Orleans, PostgreSQL, files.</summary>
    [Range(16, 100_000)]
    public int FileReserve { get; set; } = 1000;

    /// <summary>
    /// Base64 key that signs private room ids. When empty, the key is created once in the database and
    /// shared by every gateway from there.
    /// </summary>
    public string? RoomIdKey { get; set; }
}
