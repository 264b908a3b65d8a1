using Chat.Orleans.Silo.Extensions;

var builder = WebApplication.CreateBuilder(args);

builder.AddChatSilo();

var app = builder.Build();

app.MapChatSilo();

app.Run();
