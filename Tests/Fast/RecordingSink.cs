using System.Text;
using Chat.Orleans.Gateway.Connections;

namespace Chat.Orleans.Tests.Fast;

/// <summary>The frames a client would have been sent, as text, in order.</summary>
public sealed class RecordingSink : IFrameSink
{
    private readonly List<string> _frames = [];

    public IReadOnlyList<string> Frames => _frames;

    public void Send(byte[] frame) => _frames.Add(Encoding.UTF8.GetString(frame));
}
