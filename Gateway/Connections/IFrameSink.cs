namespace Chat.Orleans.Gateway.Connections;

/// <summary>Where the frames owed to one client go, in the order they are handed over.</summary>
public interface IFrameSink
{
    void Send(byte[] frame);
}
