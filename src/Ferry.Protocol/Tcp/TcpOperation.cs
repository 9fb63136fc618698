namespace Ferry.Protocol.Tcp;

/// <summary>Direction of a session, from the client's point of view.</summary>
public enum TcpOperation : byte
{
    /// <summary>Download: the server sends.</summary>
    Get = 1,

    /// <summary>Upload: the client sends.</summary>
    Put = 2,
}
