using Chat.Orleans.ServiceDefaults;
using Chat.Orleans.Silo.Extensions;

namespace Chat.Orleans.Silo;

public static class Program
{
    public static void Main(string[] args) => Build(WebApplication.CreateBuilder(args)).Run();

    /// <summary>The silo, step by step. The tests build it the same way, around their own settings.</summary>
    public static WebApplication Build(WebApplicationBuilder builder)
    {
        builder.AddSiloOptions();
        builder.AddServiceDefaults();
        builder.AddDatabaseSchema();
        builder.AddOrleansSilo();

        var app = builder.Build();

        app.MapDefaultEndpoints();
        app.MapOrleansDashboardWhenEnabled();
        return app;
    }
}
