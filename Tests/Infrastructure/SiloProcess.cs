namespace Chat.Orleans.Tests.Infrastructure;

/// <summary>The silo program as its own process; it is up once a gateway connects through it.</summary>
public sealed class SiloProcess : IAsyncDisposable
{
    private readonly ProgramProcess _process;

    private SiloProcess(ProgramProcess process, int siloPort)
    {
        _process = process;
        SiloPort = siloPort;
    }

    public static SiloProcess Start(IDictionary<string, string?> settings) =>
        new(ProgramProcess.Start("Silo", settings), int.Parse((settings.TryGetValue("Chat:Silo:SiloPort", out var port) ? port : settings["Chat__Silo__SiloPort"])!));

    /// <summary>The silo-to-silo port, which names the silo in the cluster's membership.</summary>
    public int SiloPort { get; }

    public bool HasExited => _process.HasExited;

    public string Output => _process.Output;

    /// <summary>The silo's kept lines that mention <paramref name="text"/>, each named after the silo, starting with its UTC time.</summary>
    public IEnumerable<string> OutputMentioning(string text) =>
        _process.Mentioning(text).Select(line => line.Length > 13 ? $"{line[..13]}silo {SiloPort} {line[13..]}" : line);

    public Task KillAsync() => _process.KillAsync();

    public Task TerminateAsync(TimeSpan timeout) => _process.TerminateAsync(timeout);

    public ValueTask DisposeAsync() => _process.DisposeAsync();
}
