namespace Chat.Orleans.Gateway.Rooms;

/// <summary>
/// Tells room calls and subscriptions that this gateway's connection to a silo dropped (the silo died
/// or stopped). The Orleans client does not fail the calls it had sent over that connection: they would
/// wait out the whole call timeout. Room calls that may be sent again (posts, renewals, catch-ups) also
/// wait on <see cref="Lost"/>, so they are sent again through another silo at once.
/// </summary>
public sealed partial class SiloConnections(ILogger<SiloConnections> logger)
{
    private CancellationTokenSource _lost = new();

    /// <summary>Cancelled when a silo connection drops; then replaced by a fresh one.</summary>
    public CancellationToken Lost => Volatile.Read(ref _lost).Token;

    /// <summary>Raised after <see cref="Lost"/> was cancelled.</summary>
    public event Action? Dropped;

    /// <summary>The Orleans client's gateway count handler: it runs as soon as a connection closes.</summary>
    public void OnGatewayCountChanged(object? sender, GatewayCountChangedEventArgs change)
    {
        if (change.NumberOfConnectedGateways >= change.PreviousNumberOfConnectedGateways)
        {
            return;
        }

        LogSiloConnectionLost(logger, change.NumberOfConnectedGateways);

        // Not disposed: calls may still hold its token; cancelled tokens cost nothing.
        Interlocked.Exchange(ref _lost, new CancellationTokenSource()).Cancel();
        Dropped?.Invoke();
    }

    [LoggerMessage(EventId = 3201, Level = LogLevel.Warning, Message = "A silo connection dropped ({Connected} left); room calls on it are sent again and rooms are asked whether they moved")]
    private static partial void LogSiloConnectionLost(ILogger logger, int connected);
}
