using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace Chat.Orleans.Tests.Infrastructure;

/// <summary>
/// Keeps an in-process gateway's own log lines (the room subscriptions' moves, gaps, catch-ups and
/// retries) with the wall-clock time they were written, so that a failing continuity test can print
/// what its room's gateway did around the fault.
/// </summary>
public sealed class RecordedLog : ILoggerProvider
{
    private const int Kept = 20_000;
    private readonly ConcurrentQueue<string> _lines = new();

    /// <summary>The gateway's own categories: everything below is about rooms, sessions and sockets.</summary>
    public const string Categories = "Chat.Orleans.Gateway";

    /// <summary>Which gateway the lines are from, when a test has several.</summary>
    public string Name { get; set; } = "gateway";

    /// <summary>The kept lines that mention <paramref name="text"/> (a room's name), oldest first.</summary>
    public IEnumerable<string> Mentioning(string text) => _lines.Where(line => line.Contains(text, StringComparison.Ordinal));

    public ILogger CreateLogger(string categoryName) => new Logger(this);

    public void Dispose()
    {
    }

    private void Add(string line)
    {
        _lines.Enqueue(line);
        while (_lines.Count > Kept && _lines.TryDequeue(out _))
        {
        }
    }

    private sealed class Logger(RecordedLog log) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Information;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            var failure = exception is null ? "" : $" ({exception.GetType().Name}: {exception.Message.Split('\n')[0]})";
            log.Add($"{DateTime.UtcNow:HH:mm:ss.fff} {log.Name} [{eventId.Id}] {formatter(state, exception)}{failure}");
        }
    }
}
