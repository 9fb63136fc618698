namespace Ferry.Protocol.Tftp;

/// <summary>Lifecycle of a TFTP session.</summary>
public enum TftpSessionState
{
    /// <summary>Client: request sent, waiting for the first reply (which fixes the server's transfer ID).</summary>
    Requesting,

    /// <summary>Server sender: OACK sent, waiting for ACK 0.</summary>
    Negotiating,

    /// <summary>DATA and ACK flowing.</summary>
    Transferring,

    /// <summary>Receiver: final block received, final ACK held until the shell confirms (e.g. the file is committed).</summary>
    AwaitingConfirm,

    /// <summary>Receiver: final ACK sent; answers a retransmitted final block for one timeout (RFC 1350 dally).</summary>
    Dallying,

    Completed,

    Failed,
}
