namespace Chat.Orleans.Grains.Rooms;

/// <summary>
/// The room's most recent leaves, by gateway and session. A gateway's member list read before a leave
/// can reach the room after it (a renewal or catch-up sent just before, or a leave that reached a new
/// activation before its gateway had subscribed to it again); the member it still lists has left and
/// must not come back silently, only to be announced as quitting a second time later.
/// </summary>
/// <remarks>
/// Session ids are never reused (a reconnect is a new session), so a departed one never legitimately
/// returns. Only the latest leaves are kept: a stale list is at most a few calls old.
/// </remarks>
internal sealed class DepartedMembers
{
    private const int Capacity = 256;

    private readonly HashSet<(Guid Gateway, long Session)> _set = [];
    private readonly Queue<(Guid Gateway, long Session)> _order = new();

    public void Add(Guid gatewayId, long sessionId)
    {
        if (!_set.Add((gatewayId, sessionId)))
        {
            return;
        }

        _order.Enqueue((gatewayId, sessionId));
        if (_order.Count > Capacity)
        {
            _set.Remove(_order.Dequeue());
        }
    }

    public bool Contains(Guid gatewayId, long sessionId) => _set.Count > 0 && _set.Contains((gatewayId, sessionId));
}
