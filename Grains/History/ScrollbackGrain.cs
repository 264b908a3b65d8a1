using Chat.Orleans.Grains.Storage;
using Orleans.Concurrency;

namespace Chat.Orleans.Grains.History;

/// <summary>Scrollback straight from the message log; stateless, so any silo answers and no room wakes up.</summary>
[StatelessWorker]
public sealed class ScrollbackGrain(MessageLog messageLog) : Grain, IScrollbackGrain
{
    public async Task<ChatMessage[]> ReadBefore(string room, long before, int limit)
    {
        var stored = await messageLog.ReadBeforeAsync(room, before, limit, CancellationToken.None);
        var messages = new ChatMessage[stored.Count];
        for (var i = 0; i < messages.Length; i++)
        {
            var message = stored[i];
            messages[i] = new ChatMessage(message.Timestamp, message.Name, message.Message, PostKeys.ShownId(message.PostKey), message.User, message.EditedAt, message.Reactions);
        }

        return messages;
    }
}
