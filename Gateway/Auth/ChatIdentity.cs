namespace Chat.Orleans.Gateway.Auth;

/// <summary>
/// A verified token's claims (PROTOCOL.md, "Identity"), and what they allow: which rooms, and which
/// powers there. Pure rules, so that the fast tests cover every permission without a socket.
/// </summary>
/// <param name="User">The token's <c>sub</c>.</param>
/// <param name="Name">The token's <c>name</c>, which replaces the name the client sent.</param>
/// <param name="Rooms">The token's <c>rooms</c>: the rooms it may join (names, private ids or <c>*</c>); null for every room.</param>
/// <param name="Role">The token's <c>role</c>, if it is one of <see cref="Roles"/>.</param>
/// <param name="Expires">The token's <c>exp</c>.</param>
public sealed record ChatIdentity(string User, string? Name, string[]? Rooms, string? Role, DateTimeOffset Expires)
{
    public static class Roles
    {
        public const string Moderator = "moderator";
        public const string Admin = "admin";
        public const string Publisher = "publisher";
    }

    public bool IsAdmin => Role == Roles.Admin;

    /// <summary>Whether the token lists <paramref name="room"/> (or lists none, or <c>*</c>).</summary>
    public bool MayJoin(string room) => Rooms is null || Array.IndexOf(Rooms, "*") >= 0 || Array.IndexOf(Rooms, room) >= 0;

    /// <summary>Moderators in the rooms their token may join; admins everywhere.</summary>
    public bool MayModerate(string room) => IsAdmin || (Role == Roles.Moderator && MayJoin(room));

    /// <summary>Bans and mutes without a room: admins only.</summary>
    public bool MayModerateEverywhere => IsAdmin;

    /// <summary>Posting as the service: admins, and publishers in the rooms their token may join.</summary>
    public bool MayPublish(string room) => IsAdmin || (Role == Roles.Publisher && MayJoin(room));
}
