namespace Chat.Orleans;

/// <summary>
/// A room's answer to a renewal: its activation's epoch (a gateway that knew another one learns that the
/// room moved) and how many members it has, so that a gateway whose sessions' roster has drifted from
/// the room's notices and catches up.
/// </summary>
[GenerateSerializer, Immutable, Alias("chat.RoomRenewal")]
public sealed record RoomRenewal(long Epoch, int Members);
