using System.Diagnostics;
using Xunit.Abstractions;

namespace Chat.Orleans.Tests.Fast;

/// <summary>
/// The page's protocol client (Gateway/wwwroot/js/chat-client.js) tested on its own, without a browser or a
/// server: Tests/Client/*.test.mjs under Node's own test runner (node:test, no packages).
/// </summary>
[Trait("Category", "Fast")]
public sealed class ChatClientModuleTests(ITestOutputHelper output)
{
    [Fact]
    public async Task The_protocol_client_module_passes_its_own_tests()
    {
        var start = new ProcessStartInfo("node", ["--test", Path.Combine("Tests", "Client")])
        {
            WorkingDirectory = RepositoryPaths.Root,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using var node = Process.Start(start)!;
        var stdout = node.StandardOutput.ReadToEndAsync();
        var stderr = node.StandardError.ReadToEndAsync();
        await node.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(1));
        output.WriteLine(await stdout);
        output.WriteLine(await stderr);
        Assert.Equal(0, node.ExitCode);
        Assert.Contains("# fail 0", await stdout);
        Assert.Matches(@"# pass [1-9][0-9]", await stdout);
    }
}
