using Chat.Orleans.Gateway.Auth;

namespace Chat.Orleans.Gateway.Sessions;

/// <summary>
/// A session's verified identity over its life (PROTOCOL.md, "Identity"): the token it signed in with,
/// replaced by fresh tokens of the same user, and the end of the session when the newest one expires.
/// Null for an anonymous session, which never expires.
/// </summary>
/// <param name="onExpired">Called once the newest token has expired (the session closes, 1008).</param>
public sealed class SessionIdentity(Action onExpired) : IAsyncDisposable
{
    // Timers take at most about 49 days; a longer token is checked again then.
    private static readonly TimeSpan LongestWait = TimeSpan.FromDays(40);

    private Timer? _expiry;

    /// <summary>The newest verified identity; null for an anonymous session. Read by other threads (ban checks).</summary>
    public ChatIdentity? Current { get; private set; }

    /// <summary>The identity the session signed in with (null: anonymous).</summary>
    public void SignIn(ChatIdentity? identity)
    {
        Current = identity;
        ExpireWith(identity);
    }

    /// <summary>
    /// A fresh token's identity replaces the current one when it is the same user and may join
    /// <paramref name="room"/>; false otherwise (also for an anonymous session, which has no user to match).
    /// </summary>
    public bool TryReplace(ChatIdentity? fresh, string room)
    {
        if (fresh is null || Current is null || fresh.User != Current.User || !fresh.MayJoin(room))
        {
            return false;
        }

        // The session keeps the name it was announced with; the new token's powers and expiry apply.
        Current = fresh;
        ExpireWith(fresh);
        return true;
    }

    public async ValueTask DisposeAsync()
    {
        if (_expiry is not null)
        {
            await _expiry.DisposeAsync();
        }
    }

    private void ExpireWith(ChatIdentity? identity)
    {
        if (identity is null)
        {
            return;
        }

        var due = identity.Expires - DateTimeOffset.UtcNow;
        due = due < TimeSpan.Zero ? TimeSpan.Zero : due > LongestWait ? LongestWait : due;
        if (_expiry is null)
        {
            _expiry = new Timer(_ => OnTimer(), null, due, Timeout.InfiniteTimeSpan);
        }
        else
        {
            _expiry.Change(due, Timeout.InfiniteTimeSpan);
        }
    }

    private void OnTimer()
    {
        if (Current is { } identity && identity.Expires <= DateTimeOffset.UtcNow)
        {
            onExpired();
        }
        else
        {
            ExpireWith(Current);
        }
    }
}
