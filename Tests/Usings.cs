global using Chat.Orleans.Tests.Infrastructure;
global using Xunit;
