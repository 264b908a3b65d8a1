using System.Diagnostics;
using System.Text.Json;

namespace Chat.Orleans.Tests.Benchmarks;

/// <summary>
/// The benchmark suite is not part of the tests, but a few seconds of it are: the load generator drives
/// the chat and the floor, and every message must come back to every member once and in order. So the
/// suite cannot rot between benchmark runs.
/// </summary>
public sealed class BenchSmokeTests
{
    [Fact]
    public async Task The_load_generator_drives_the_chat_and_the_floor_and_every_message_arrives_once()
    {
        var output = Path.Combine(Path.GetTempPath(), "chat-bench-smoke-" + Guid.NewGuid().ToString("N")[..8]);
        var configuration = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar)).Parent!.Name;
        var program = RepositoryPaths.Of("Bench", "bin", configuration, "net10.0", "Chat.Orleans.Bench.dll");
        var start = new ProcessStartInfo("dotnet", [program, "suite", "--smoke", "--out", output, "--data", Path.Combine(output, "postgres")])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        try
        {
            using var suite = Process.Start(start)!;
            var stdout = suite.StandardOutput.ReadToEndAsync();
            var stderr = suite.StandardError.ReadToEndAsync();
            using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
            try
            {
                await suite.WaitForExitAsync(timeout.Token);
            }
            catch (OperationCanceledException)
            {
                suite.Kill(entireProcessTree: true);
                throw new TimeoutException("The smoke run did not finish: " + await stdout);
            }

            Assert.True(suite.ExitCode == 0, $"exit {suite.ExitCode}: {await stdout} {await stderr}");
            var smoke = File.ReadLines(Path.Combine(output, "results.jsonl"))
                .Select(line => JsonDocument.Parse(line).RootElement)
                .Single(line => line.GetProperty("scenario").GetString() == "smoke");
            var rows = smoke.GetProperty("rows").EnumerateArray().ToDictionary(row => row.GetProperty("target").GetString()!);
            Assert.Equal(["chat", "floor"], rows.Keys.Order());
            foreach (var row in rows.Values)
            {
                // 20 members, each message to each member: the generator counted them all, none twice.
                Assert.True(row.GetProperty("delivered").GetInt64() > 0);
                Assert.Equal(0, row.GetProperty("lost").GetInt64());
                Assert.Equal(0, row.GetProperty("dup").GetInt64());
                Assert.Equal(0, row.GetProperty("misordered").GetInt64());
                Assert.Equal(row.GetProperty("delivered").GetInt64(), (long)(row.GetProperty("offered_msg_s").GetDouble() * 2 * 10));
            }
        }
        finally
        {
            if (Directory.Exists(output))
            {
                Directory.Delete(output, recursive: true);
            }
        }
    }
}
