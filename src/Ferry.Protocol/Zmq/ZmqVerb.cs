namespace Ferry.Protocol.Zmq;

/// <summary>The three client requests of the zmq:// upload protocol (the first frame, ASCII, case-sensitive).</summary>
public enum ZmqVerb
{
    Hello,
    Chunk,
    Close,
}
