namespace Chat.Orleans.Gateway.Protocol;

/// <summary>
/// Every <c>{"error": ...}</c> frame the gateway sends, built once (the frames the room sends are in
/// <see cref="ChatFrames"/>). Unless a caller closes the socket after one, the socket stays open.
/// </summary>
public static class ErrorFrames
{
    public static readonly byte[] NotAnObject = ChatFrames.Error("Frames must be JSON objects.");
    public static readonly byte[] NameNotString = ChatFrames.Error("Name must be a string.");
    public static readonly byte[] NameTooLong = ChatFrames.Error("Name too long.");
    public static readonly byte[] InvalidSince = ChatFrames.Error("since must be a non-negative integer timestamp; joining without it.");
    public static readonly byte[] MessageNotString = ChatFrames.Error("Message must be a string.");
    public static readonly byte[] MessageTooLong = ChatFrames.Error("Message too long.");
    public static readonly byte[] InvalidMessageId = ChatFrames.Error("Message id must be 1 to 64 characters of A-Z, a-z, 0-9, _ and -.");
    public static readonly byte[] RateLimited = ChatFrames.Error("Your IP is being rate-limited, please try again later.");
    public static readonly byte[] NotStored = ChatFrames.Error("Your message could not be stored, so it was not sent. Please try again.");
    public static readonly byte[] Binary = ChatFrames.Error("Binary frames are not supported.");
    public static readonly byte[] FrameTooLarge = ChatFrames.Error("Frame too large.");
    public static readonly byte[] NameTimeout = ChatFrames.Error("No name was sent in time.");
    public static readonly byte[] TooSlow = ChatFrames.Error("Too many frames waiting: the connection is too slow.");
    public static readonly byte[] InvalidToken = ChatFrames.Error("Invalid token.");
    public static readonly byte[] SignInRequired = ChatFrames.Error("Sign-in required.");
    public static readonly byte[] TokenExpired = ChatFrames.Error("Token expired.");
    public static readonly byte[] Banned = ChatFrames.Error("You were banned from this room.");
    public static readonly byte[] Muted = ChatFrames.Error("You are muted in this room.");
    public static readonly byte[] RoomClosed = ChatFrames.Error("This room was closed.");
    public static readonly byte[] InvalidDelete = ChatFrames.Error("delete must be a message's timestamp.");
    public static readonly byte[] CannotDelete = ChatFrames.Error("You cannot delete this message.");
    public static readonly byte[] NoSuchMessage = ChatFrames.Error("No such message.");
    public static readonly byte[] DeleteFailed = ChatFrames.Error("The message could not be deleted. Please try again.");
    public static readonly byte[] InvalidEdit = ChatFrames.Error("edit must be a message's timestamp.");
    public static readonly byte[] CannotEdit = ChatFrames.Error("You cannot edit this message.");
    public static readonly byte[] InvalidReact = ChatFrames.Error("react must be a message's timestamp.");
    public static readonly byte[] InvalidEmoji = ChatFrames.Error("Invalid emoji.");
    public static readonly byte[] TooManyEmoji = ChatFrames.Error("This message has as many different reactions as it may have.");
    public static readonly byte[] ChangeFailed = ChatFrames.Error("Your change could not be saved. Please try again.");
    public static readonly byte[] JoinFailed = ChatFrames.Error("The room is not available right now. Please try again.");
}
