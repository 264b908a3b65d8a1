using System.Text;
using Chat.Orleans.Gateway.Protocol;

namespace Chat.Orleans.Tests.Fast;

/// <summary>The rules for client frames (PROTOCOL.md, "Client to server"), without a socket.</summary>
[Trait("Category", "Fast")]
public sealed class ClientFramesTests
{
    private const int MaxName = 32;
    private const int MaxMessage = 256;

    [Theory]
    [InlineData("""{"name":"ann"}""", "ann")]
    [InlineData("""{"name":""}""", "anonymous")]
    [InlineData("""{"name":null}""", "anonymous")]
    [InlineData("""{}""", "anonymous")]
    [InlineData("""{"other":1,"name":"bob","more":[1,{"x":2}]}""", "bob")]
    [InlineData("""{"name":"\u00e9\u00e8"}""", "éè")]
    public void A_name_frame_gives_the_name(string frame, string expected)
    {
        Assert.Null(ClientFrames.ReadName(Bytes(frame), MaxName, out var name));
        Assert.Equal(expected, name);
    }

    [Fact]
    public void A_name_of_exactly_the_limit_passes_and_one_more_is_too_long()
    {
        Assert.Null(ClientFrames.ReadName(Bytes(NameFrame(new string('a', MaxName))), MaxName, out _));
        Assert.Same(ErrorFrames.NameTooLong, ClientFrames.ReadName(Bytes(NameFrame(new string('a', MaxName + 1))), MaxName, out _));
    }

    [Fact]
    public void Name_length_counts_UTF16_units_as_the_original_does()
    {
        // 16 emoji are 32 UTF-16 code units: at the limit; one more letter is over it.
        var emoji = string.Concat(Enumerable.Repeat("😀", 16));
        Assert.Null(ClientFrames.ReadName(Bytes(NameFrame(emoji)), MaxName, out _));
        Assert.Same(ErrorFrames.NameTooLong, ClientFrames.ReadName(Bytes(NameFrame(emoji + "a")), MaxName, out _));
    }

    [Theory]
    [InlineData("not json")]
    [InlineData("""["name"]""")]
    [InlineData("\"ann\"")]
    [InlineData("""{"name":"ann""")]
    [InlineData("""{"name":"ann"} trailing""")]
    [InlineData("")]
    public void A_frame_that_is_not_a_JSON_object_is_refused(string frame)
    {
        Assert.Same(ErrorFrames.NotAnObject, ClientFrames.ReadName(Bytes(frame), MaxName, out _));
        Assert.Same(ErrorFrames.NotAnObject, ClientFrames.ReadMessage(Bytes(frame), MaxMessage, out _, out _));
    }

    [Theory]
    [InlineData("""{"name":1}""")]
    [InlineData("""{"name":true}""")]
    [InlineData("""{"name":{"first":"ann"}}""")]
    public void A_name_that_is_not_a_string_is_refused(string frame) =>
        Assert.Same(ErrorFrames.NameNotString, ClientFrames.ReadName(Bytes(frame), MaxName, out _));

    [Theory]
    [InlineData("""{"message":"hello"}""", "hello")]
    [InlineData("""{"message":""}""", "")]
    [InlineData("""{"message":"a \"quoted\" line\nand another"}""", "a \"quoted\" line\nand another")]
    public void A_message_frame_gives_the_message(string frame, string expected)
    {
        Assert.Null(ClientFrames.ReadMessage(Bytes(frame), MaxMessage, out var message, out _));
        Assert.Equal(expected, message);
    }

    [Theory]
    [InlineData("""{}""")]
    [InlineData("""{"message":null}""")]
    [InlineData("""{"message":5}""")]
    [InlineData("""{"message":["a"]}""")]
    public void A_message_that_is_missing_or_not_a_string_is_refused(string frame) =>
        Assert.Same(ErrorFrames.MessageNotString, ClientFrames.ReadMessage(Bytes(frame), MaxMessage, out _, out _));

    [Fact]
    public void A_message_of_exactly_the_limit_passes_and_one_more_is_too_long()
    {
        Assert.Null(ClientFrames.ReadMessage(Bytes(MessageFrame(new string('m', MaxMessage))), MaxMessage, out _, out _));
        Assert.Same(ErrorFrames.MessageTooLong, ClientFrames.ReadMessage(Bytes(MessageFrame(new string('m', MaxMessage + 1))), MaxMessage, out _, out _));
    }

    [Theory]
    [InlineData("a")]
    [InlineData("Zz09_-")]
    [InlineData("0123456789012345678901234567890123456789012345678901234567890123")]
    public void A_message_may_carry_a_client_id(string id)
    {
        var frame = System.Text.Json.JsonSerializer.Serialize(new { message = "hi", id });
        Assert.Null(ClientFrames.ReadMessage(Bytes(frame), MaxMessage, out var message, out var read));
        Assert.Equal(("hi", id), (message, read));
    }

    [Fact]
    public void A_message_without_an_id_has_none()
    {
        Assert.Null(ClientFrames.ReadMessage(Bytes("""{"message":"hi","id":null}"""), MaxMessage, out _, out var id));
        Assert.Null(id);
    }

    [Theory]
    [InlineData("""{"message":"hi","id":""}""")]
    [InlineData("""{"message":"hi","id":"has space"}""")]
    [InlineData("""{"message":"hi","id":"~made-by-a-gateway"}""")]
    [InlineData("""{"message":"hi","id":"ü"}""")]
    [InlineData("""{"message":"hi","id":7}""")]
    [InlineData("""{"message":"hi","id":"01234567890123456789012345678901234567890123456789012345678901234"}""")]
    public void A_malformed_id_is_refused(string frame) =>
        Assert.Same(ErrorFrames.InvalidMessageId, ClientFrames.ReadMessage(Bytes(frame), MaxMessage, out _, out _));

    [Theory]
    [InlineData("""{"name":"ann"}""", null)]
    [InlineData("""{"name":"ann","since":null}""", null)]
    [InlineData("""{"name":"ann","since":0}""", 0L)]
    [InlineData("""{"since":1764000000000,"name":"ann"}""", 1764000000000L)]
    public void A_name_frame_may_ask_to_resume_since_a_timestamp(string frame, long? expected)
    {
        Assert.Null(ClientFrames.ReadSince(Bytes(frame), out var since));
        Assert.Equal(expected, since);
    }

    [Theory]
    [InlineData("""{"name":"ann","since":-1}""")]
    [InlineData("""{"name":"ann","since":1.5}""")]
    [InlineData("""{"name":"ann","since":"5"}""")]
    [InlineData("""{"name":"ann","since":99999999999999999999}""")]
    public void A_since_that_is_not_a_non_negative_integer_is_refused(string frame)
    {
        Assert.Same(ErrorFrames.InvalidSince, ClientFrames.ReadSince(Bytes(frame), out var since));
        Assert.Null(since);
    }

    private static string NameFrame(string name) => System.Text.Json.JsonSerializer.Serialize(new { name });

    private static string MessageFrame(string message) => System.Text.Json.JsonSerializer.Serialize(new { message });

    private static byte[] Bytes(string frame) => Encoding.UTF8.GetBytes(frame);
}
