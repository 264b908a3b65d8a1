using System.Diagnostics.Metrics;

namespace Chat.Orleans.Grains;

/// <summary>The silo side of the chat, as OpenTelemetry metrics (meter "Chat.Silo").</summary>
public sealed class RoomMetrics
{
    public const string MeterName = "Chat.Silo";

    private readonly UpDownCounter<int> _roomsActive;
    private readonly Counter<long> _messagesStored;
    private readonly Histogram<int> _batchSize;
    private readonly Histogram<double> _writeDuration;
    private readonly Counter<long> _eventsDropped;

    public RoomMetrics(IMeterFactory meterFactory)
    {
        var meter = meterFactory.Create(MeterName);
        _roomsActive = meter.CreateUpDownCounter<int>("chat.rooms.active", description: "Room activations on this silo.");
        _messagesStored = meter.CreateCounter<long>("chat.messages.stored", description: "Messages durably stored.");
        _batchSize = meter.CreateHistogram<int>("chat.store.batch_size", description: "Messages per database round trip (group commit).");
        _writeDuration = meter.CreateHistogram<double>("chat.store.duration", unit: "ms", description: "Time of one batched write.");
        _eventsDropped = meter.CreateCounter<long>("chat.events.dropped", description: "Events dropped for gateways that did not keep up.");
    }

    public void RoomActivated() => _roomsActive.Add(1);

    public void RoomDeactivated() => _roomsActive.Add(-1);

    public void BatchStored(int messages, double milliseconds)
    {
        _messagesStored.Add(messages);
        _batchSize.Record(messages);
        _writeDuration.Record(milliseconds);
    }

    public void EventsDropped(int count) => _eventsDropped.Add(count);
}
