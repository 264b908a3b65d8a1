using Chat.Orleans.Gateway;
using Chat.Orleans.Gateway.Extensions;

var builder = WebApplication.CreateBuilder(args);

builder.AddChatGateway();

var app = builder.Build();

app.MapChat();

app.Run();
