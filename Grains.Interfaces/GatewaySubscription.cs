namespace Chat.Orleans;

/// <summary>Who is calling: the gateway, its observer for this room, and its member-list version.</summary>
[GenerateSerializer, Immutable, Alias("chat.GatewaySubscription")]
public sealed record GatewaySubscription(Guid GatewayId, IRoomObserver Observer, long Version);
