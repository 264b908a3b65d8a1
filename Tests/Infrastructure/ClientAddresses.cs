namespace Chat.Orleans.Tests.Infrastructure;

/// <summary>
/// Client addresses for test clients, sent as X-Forwarded-For (loopback is a trusted proxy): a random
/// one per client, so that the per-IP rate limit and caps never tie two clients or two tests together.
/// </summary>
public static class ClientAddresses
{
    public static string New() => $"10.{Random.Shared.Next(256)}.{Random.Shared.Next(256)}.{Random.Shared.Next(1, 255)}";
}
