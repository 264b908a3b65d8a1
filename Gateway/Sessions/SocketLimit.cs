namespace Chat.Orleans.Gateway.Sessions;

/// <summary>
/// Counts the chat sockets this gateway holds, against <see cref="GatewayOptions.MaxSockets"/>, so that
/// the gateway refuses new ones cleanly instead of running out of file descriptors.
/// </summary>
public sealed class SocketLimit
{
    private int _open;

    public SocketLimit(GatewayOptions options)
    {
        Max = options.MaxSockets > 0 ? options.MaxSockets : FromFileLimit(options.FileReserve);
    }

    public int Max { get; }

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
