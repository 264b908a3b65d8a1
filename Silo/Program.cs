using Chat.Orleans.Silo.Extensions;

var builder = Host.CreateApplicationBuilder(args);

builder.AddChatSilo();

await builder.Build().RunAsync();
