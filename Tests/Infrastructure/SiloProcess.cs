namespace Chat.Orleans.Tests.Infrastructure;

/// <summary>The silo program as its own process; it is up once a gateway connects through it.</summary>
public sealed class SiloProcess : IAsyncDisposable
{
    private readonly ProgramProcess _process;

    private SiloProcess(ProgramProcess process) => _process = process;

    public static SiloProcess Start(IDictionary<string, string?> settings) => new(ProgramProcess.Start("Silo", settings));

    public bool HasExited => _process.HasExited;

    public string Output => _process.Output;

    public Task KillAsync() => _process.KillAsync();

    public ValueTask DisposeAsync() => _process.DisposeAsync();
}
