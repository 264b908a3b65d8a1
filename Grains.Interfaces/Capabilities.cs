namespace Chat.Orleans;

/// <summary>
/// The frames a session asked for with <c>caps</c> on its name frame (PROTOCOL.md, "Capabilities"). A
/// session without one never receives that kind of frame; a room with no member that has one does not
/// even make those frames.
/// </summary>
[Flags]
[GenerateSerializer, Alias("chat.Capabilities")]
public enum Capabilities
{
    None = 0,
    Typing = 1,
    Reactions = 2,
    Edits = 4,
    Presence = 8,
}
