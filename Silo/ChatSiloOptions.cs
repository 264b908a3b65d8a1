using System.ComponentModel.DataAnnotations;

namespace Chat.Orleans.Silo;

public sealed class ChatSiloOptions
{
    public const string Section = "Chat:Silo";

    /// <summary>Silo-to-silo port.</summary>
    [Range(0, 65535)]
    public int SiloPort { get; set; } = 11111;

    /// <summary>
    /// Port the Orleans clients (our gateways) connect to: Orleans calls it the silo's "gateway port".
    /// Configuration key <c>ClientPort</c>; the old key <c>GatewayPort</c> is still read when it is the only one set.
    /// </summary>
    [Range(0, 65535)]
    public int ClientPort { get; set; } = 30000;

    /// <summary>
    /// The address other silos and gateways reach this silo at. Empty: this host's first IPv4 address
    /// (what a container on a compose network wants).
    /// </summary>
    public string AdvertisedAddress { get; set; } = "127.0.0.1";

    /// <summary>Create or update the database schema at start (idempotent, safe with several silos).</summary>
    public bool ApplySchema { get; set; } = true;

    /// <summary>Serve the Orleans dashboard at <c>/dashboard</c> on the silo's HTTP port.</summary>
    public bool Dashboard { get; set; }
}
