using Microsoft.Extensions.Options;

namespace Chat.Orleans.Gateway.Connections;

/// <summary>
/// Counts the chat sockets this gateway holds, against <see cref="ChatGatewayOptions.MaxSockets"/>, so that
/// the gateway refuses new ones cleanly instead of running out of file descriptors.
/// </summary>
public sealed class SocketLimit(IOptions<ChatGatewayOptions> options)
{
    private int _open;

    public int Max { get; } = options.Value.MaxSockets > 0 ? options.Value.MaxSockets : FromFileLimit(options.Value.FileReserve);

    public bool TryEnter()
    {
        if (Interlocked.Increment(ref _open) <= Max)
        {
            return true;
        }

        Interlocked.Decrement(ref _open);
        return false;
    }

    public void Exit() => Interlocked.Decrement(ref _open);

    /// <summary>The soft "Max open files" limit less the reserve; no limit where it cannot be read.</summary>
    private static int FromFileLimit(int reserve)
    {
        const string Prefix = "Max open files";
        try
        {
            var line = File.ReadLines("/proc/self/limits").FirstOrDefault(line => line.StartsWith(Prefix, StringComparison.Ordinal));
            var soft = line?[Prefix.Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries)[0];
            if (long.TryParse(soft, out var files))
            {
                return (int)Math.Clamp(files - reserve, 1, int.MaxValue);
            }
        }
        catch (IOException)
        {
        }

        return int.MaxValue;
    }
}
