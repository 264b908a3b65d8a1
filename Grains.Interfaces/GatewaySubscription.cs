namespace Chat.Orleans;

/// <summary>Who is calling: the gateway, its observer (one for all its rooms), and its member-list version for this room.</summary>
[GenerateSerializer, Immutable, Alias("chat.GatewaySubscription")]
public sealed record GatewaySubscription(Guid GatewayId, IGatewayObserver Observer, long Version);
