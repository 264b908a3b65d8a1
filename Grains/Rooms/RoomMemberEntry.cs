namespace Chat.Orleans.Grains.Rooms;

/// <summary>A member as the room keeps it: the name and its <c>joined</c> frame, built once.</summary>
internal sealed record RoomMemberEntry(string Name, byte[] JoinedFrame);
