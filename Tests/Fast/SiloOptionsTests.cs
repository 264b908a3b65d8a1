using Chat.Orleans.Silo;
using Chat.Orleans.Silo.Extensions;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Chat.Orleans.Tests.Fast;

/// <summary>The silo's client port under its new name, and under the old one that deployments still set.</summary>
[Trait("Category", "Fast")]
public sealed class SiloOptionsTests
{
    [Theory]
    [InlineData(null, null, 30000)]
    [InlineData("31000", null, 31000)]
    [InlineData(null, "32000", 32000)]
    [InlineData("31000", "32000", 31000)]
    public void The_client_port_comes_from_ClientPort_else_from_the_old_GatewayPort(string? clientPort, string? gatewayPort, int expected)
    {
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        var settings = new Dictionary<string, string?>();
        if (clientPort is not null)
        {
            settings["Chat:Silo:ClientPort"] = clientPort;
        }

        if (gatewayPort is not null)
        {
            settings["Chat:Silo:GatewayPort"] = gatewayPort;
        }

        builder.Configuration.AddInMemoryCollection(settings);
        builder.AddSiloOptions();
        using var services = builder.Services.BuildServiceProvider();

        Assert.Equal(expected, services.GetRequiredService<IOptions<ChatSiloOptions>>().Value.ClientPort);
    }
}
