using System.Net;

namespace Chat.Orleans.Gateway.Moderation;

/// <summary>
/// The bans and mutes in force, as this gateway last read them (<see cref="BanWatcher"/>): every join and
/// every post is checked here, in memory, with no call out. Without any ban the checks cost one read.
/// </summary>
public sealed class BanList
{
    private volatile Ban[] _bans = [];

    /// <summary>Whether the gateway has read the bans at least once since it started.</summary>
    public bool Loaded { get; private set; }

    public IReadOnlyList<Ban> All => _bans;

    public void Replace(Ban[] bans)
    {
        _bans = bans;
        Loaded = true;
    }

    /// <summary>The ban (not a mute) that keeps this session out of the room, if any.</summary>
    public Ban? FindBan(string? user, IPAddress address, string room) => Find(user, address, room, mute: false);

    /// <summary>Whether the session may read but not post (a mute, or a ban, which a join check has already refused).</summary>
    public bool IsMuted(string? user, IPAddress address, string room) => _bans.Length > 0 && Find(user, address, room, mute: true) is not null;

    private Ban? Find(string? user, IPAddress address, string room, bool mute)
    {
        var bans = _bans;
        if (bans.Length == 0)
        {
            return null;
        }

        var now = DateTimeOffset.UtcNow;
        foreach (var ban in bans)
        {
            if ((mute || !ban.Mute) && ban.AppliesTo(user, address, room, now))
            {
                return ban;
            }
        }

        return null;
    }
}
