namespace Ferry.Protocol.Zmq;

/// <summary>Where a client's upload is.</summary>
public enum ZmqUploadPhase
{
    /// <summary>HELLO sent (or to send); waiting for READY.</summary>
    Hello,

    /// <summary>Sending chunks; waiting for their replies.</summary>
    Chunks,

    /// <summary>CLOSE sent; waiting for READY.</summary>
    Close,

    /// <summary>CLOSE READY: the server has the file.</summary>
    Done,

    /// <summary>The server answered ERROR; see <see cref="ZmqUploadPipeline.Error"/>.</summary>
    Failed,
}
