using System.Net;

namespace Chat.Orleans.Gateway.Moderation;

/// <summary>
/// A ban or a mute (PROTOCOL.md, "Bans and mutes"): of a verified user or of a client address, in one
/// room or everywhere, until a time or until lifted.
/// </summary>
public sealed record Ban(long Id, string? User, IPAddress? Ip, string? Room, bool Mute, DateTimeOffset? Until, string? Reason, string By, DateTimeOffset At)
{
    /// <summary>Whether it applies to a session of <paramref name="user"/> (null: anonymous) from <paramref name="address"/> in <paramref name="room"/> now.</summary>
    public bool AppliesTo(string? user, IPAddress address, string room, DateTimeOffset now) =>
        (Until is null || Until > now)
        && (Room is null || Room == room)
        && (User is not null ? User == user : Ip!.Equals(Normalize(address)));

    /// <summary>IPv4 clients on a dual-stack socket show as ::ffff:a.b.c.d; a ban names them as a.b.c.d.</summary>
    public static IPAddress Normalize(IPAddress address) => address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address;
}
