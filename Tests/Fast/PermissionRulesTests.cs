using System.Net;
using Chat.Orleans.Gateway.Auth;
using Chat.Orleans.Gateway.Moderation;

namespace Chat.Orleans.Tests.Fast;

/// <summary>PROTOCOL.md, "Identity" and "Moderation": what a token allows, and whom a ban covers. No socket, no database.</summary>
[Trait("Category", "Fast")]
public sealed class PermissionRulesTests
{
    private static readonly DateTimeOffset Later = DateTimeOffset.UtcNow.AddHours(1);

    [Fact]
    public void A_token_without_rooms_may_join_every_room_and_one_with_rooms_only_those()
    {
        Assert.True(Identity(rooms: null).MayJoin("any"));
        Assert.True(Identity(rooms: ["*"]).MayJoin("any"));
        Assert.True(Identity(rooms: ["a", "b"]).MayJoin("b"));
        Assert.False(Identity(rooms: ["a", "b"]).MayJoin("c"));
        Assert.False(Identity(rooms: []).MayJoin("a"));
    }

    [Fact]
    public void Moderators_moderate_the_rooms_their_token_may_join_and_admins_every_room()
    {
        Assert.True(Identity(ChatIdentity.Roles.Moderator, ["a"]).MayModerate("a"));
        Assert.False(Identity(ChatIdentity.Roles.Moderator, ["a"]).MayModerate("b"));
        Assert.True(Identity(ChatIdentity.Roles.Moderator).MayModerate("b"));
        Assert.False(Identity(ChatIdentity.Roles.Moderator).MayModerateEverywhere);
        Assert.True(Identity(ChatIdentity.Roles.Admin, ["a"]).MayModerate("b"));
        Assert.True(Identity(ChatIdentity.Roles.Admin).MayModerateEverywhere);
        Assert.False(Identity().MayModerate("a"));
        Assert.False(Identity(ChatIdentity.Roles.Publisher).MayModerate("a"));
    }

    [Fact]
    public void Publishers_and_admins_post_as_the_service_and_nobody_else()
    {
        Assert.True(Identity(ChatIdentity.Roles.Publisher, ["news"]).MayPublish("news"));
        Assert.False(Identity(ChatIdentity.Roles.Publisher, ["news"]).MayPublish("other"));
        Assert.True(Identity(ChatIdentity.Roles.Admin).MayPublish("other"));
        Assert.False(Identity(ChatIdentity.Roles.Moderator).MayPublish("news"));
        Assert.False(Identity().MayPublish("news"));
    }

    [Fact]
    public void A_ban_covers_its_user_or_address_in_its_room_or_everywhere_until_it_ends()
    {
        var address = IPAddress.Parse("10.1.2.3");
        var other = IPAddress.Parse("10.1.2.4");
        var now = DateTimeOffset.UtcNow;

        Assert.True(Ban(user: "eve").AppliesTo("eve", other, "any", now));
        Assert.False(Ban(user: "eve").AppliesTo("bob", address, "any", now));
        Assert.False(Ban(user: "eve").AppliesTo(null, address, "any", now));
        Assert.True(Ban(ip: address).AppliesTo(null, address, "any", now));
        Assert.True(Ban(ip: address).AppliesTo("bob", IPAddress.Parse("::ffff:10.1.2.3"), "any", now));
        Assert.False(Ban(ip: address).AppliesTo(null, other, "any", now));
        Assert.True(Ban(user: "eve", room: "a").AppliesTo("eve", address, "a", now));
        Assert.False(Ban(user: "eve", room: "a").AppliesTo("eve", address, "b", now));

        // Until it ends: an expired ban lets the person back in.
        Assert.True(Ban(user: "eve", until: now.AddSeconds(1)).AppliesTo("eve", address, "a", now));
        Assert.False(Ban(user: "eve", until: now.AddSeconds(-1)).AppliesTo("eve", address, "a", now));
    }

    [Fact]
    public void A_mute_keeps_a_member_from_posting_but_not_from_joining()
    {
        var list = new BanList();
        list.Replace([Ban(user: "eve", mute: true)]);
        var address = IPAddress.Parse("10.1.2.3");

        Assert.True(list.IsMuted("eve", address, "a"));
        Assert.Null(list.FindBan("eve", address, "a"));
        Assert.False(list.IsMuted("bob", address, "a"));
    }

    private static ChatIdentity Identity(string? role = null, string[]? rooms = null) => new("u", null, rooms, role, Later);

    private static Ban Ban(string? user = null, IPAddress? ip = null, string? room = null, bool mute = false, DateTimeOffset? until = null) =>
        new(1, user, ip, room, mute, until, null, "mod", DateTimeOffset.UtcNow);
}
