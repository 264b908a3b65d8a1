namespace Chat.Orleans.Grains.Rooms;

/// <summary>
/// A member as the room keeps it: the name, the verified user id if any, the capabilities it asked for,
/// and its <c>joined</c> frame, built once.
/// </summary>
internal sealed record RoomMemberEntry(string Name, string? User, Capabilities Caps, byte[] JoinedFrame)
{
    public RoomMemberEntry(RoomMember member)
        : this(member.Name, member.User, member.Caps, ChatFrames.Joined(member.Name, member.User))
    {
    }
}
