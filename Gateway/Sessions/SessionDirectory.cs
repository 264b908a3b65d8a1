using System.Collections.Concurrent;

namespace Chat.Orleans.Gateway.Sessions;

/// <summary>The sessions in a room on this gateway right now, so that a new ban reaches open sockets too.</summary>
public sealed class SessionDirectory
{
    private readonly ConcurrentDictionary<ChatSession, byte> _sessions = new();

    public ICollection<ChatSession> Sessions => _sessions.Keys;

    public void Add(ChatSession session) => _sessions.TryAdd(session, 0);

    public void Remove(ChatSession session) => _sessions.TryRemove(session, out _);
}
