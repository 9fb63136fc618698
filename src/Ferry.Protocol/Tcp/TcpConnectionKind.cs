namespace Ferry.Protocol.Tcp;

/// <summary>What a connection is for, declared in its preamble.</summary>
public enum TcpConnectionKind : byte
{
    /// <summary>Opens and finishes one session: OPEN, ACCEPT, HAVE, HASH, DONE, ERROR.</summary>
    Control = 1,

    /// <summary>Carries file bytes for one stream of a session: JOIN, JOINED, DATA, ACK, ERROR.</summary>
    Data = 2,
}
