namespace Chat.Orleans;

/// <summary>
/// A post's idempotency key: the client's message id (PROTOCOL.md, "Exactly-once posts"), or one the
/// gateway makes for a client that sent none. A room stores a key at most once.
/// </summary>
public static class PostKeys
{
    /// <summary>The longest client id the protocol allows.</summary>
    public const int MaxClientIdLength = 64;

    // Gateway-made keys start with a character no client id may contain, so the two never collide and
    // only client ids are shown in message frames.
    private const char GatewayMade = '~';

    /// <summary>At most 64 characters of <c>[A-Za-z0-9_-]</c>, and not empty.</summary>
    public static bool IsValidClientId(ReadOnlySpan<char> id)
    {
        if (id.IsEmpty || id.Length > MaxClientIdLength)
        {
            return false;
        }

        foreach (var c in id)
        {
            if (!char.IsAsciiLetterOrDigit(c) && c is not ('_' or '-'))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>A key for the <paramref name="count"/>th post of a session that sends no ids.</summary>
    public static string ForSession(string session, long count) => $"{GatewayMade}{session}.{count}";

    /// <summary>The id that message frames carry: the client's own, never a gateway-made key.</summary>
    public static string? ShownId(string? key) => key is null || key.StartsWith(GatewayMade) ? null : key;
}
