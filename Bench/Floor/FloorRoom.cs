namespace Chat.Orleans.Bench.Floor;

/// <summary>A room in memory: members, and timestamps that only grow. One lock keeps every member's order the same.</summary>
public sealed class FloorRoom
{
    private readonly Lock _lock = new();
    private FloorMember[] _members = [];
    private long _lastTimestamp;

    /// <summary>Adds the member and tells the room, under the lock, so the roster and the broadcasts agree.</summary>
    public void Join(FloorMember member, byte[] joinedFrame)
    {
        lock (_lock)
        {
            foreach (var present in _members)
            {
                member.Send(present.JoinedFrame!);
            }

            _members = [.. _members, member];
            foreach (var present in _members)
            {
                present.Send(joinedFrame);
            }
        }
    }

    public void Leave(FloorMember member, byte[] quitFrame)
    {
        lock (_lock)
        {
            _members = [.. _members.Where(present => present != member)];
            foreach (var present in _members)
            {
                present.Send(quitFrame);
            }
        }
    }

    public void Post(string name, string message)
    {
        lock (_lock)
        {
            _lastTimestamp = Math.Max(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), _lastTimestamp + 1);
            var frame = ChatFrames.Message(name, message, _lastTimestamp);
            foreach (var member in _members)
            {
                member.Send(frame);
            }
        }
    }
}
