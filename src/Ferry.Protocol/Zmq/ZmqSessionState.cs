namespace Ferry.Protocol.Zmq;

/// <summary>Where a (client, filename) session is in its upload.</summary>
public enum ZmqSessionState
{
    /// <summary>No transfer: only HELLO is useful.</summary>
    Idle,

    /// <summary>HELLO accepted for processing; the file is being acquired (registry, engine).</summary>
    Opening,

    /// <summary>Transfer set up: CHUNKs and CLOSE are accepted.</summary>
    Open,

    /// <summary>CLOSE passed the rules; the file is being committed.</summary>
    Closing,
}
