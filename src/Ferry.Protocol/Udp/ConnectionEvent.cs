using Ferry.Protocol.Udp.Wire;

namespace Ferry.Protocol.Udp;

public enum ConnectionEventKind
{
    /// <summary>Client: the server proved it holds <see cref="ConnectionEvent.ServerKey"/>; check it against the pin, then call ConfirmServerKey (or Close).</summary>
    ServerKeyReceived,

    /// <summary>Server: the client asked for a transfer; answer with Accept or Reject.</summary>
    RequestReceived,

    /// <summary>Client: the server accepted. For a GET, call StartReceiving.</summary>
    Accepted,

    /// <summary>Receiver: every byte and the sender's SHA-256 arrived; verify, then call FinishReceive.</summary>
    DataComplete,

    /// <summary>Sender: the receiver reported the outcome (Code None means verified and stored).</summary>
    ResultReceived,

    /// <summary>The connection is over (Code None for a clean close).</summary>
    Closed,

    /// <summary>Bytes of the peer's control stream, in order, each exactly once (<see cref="ConnectionEvent.StreamBytes"/>).</summary>
    StreamData,
}

/// <summary>Something the application must know or act upon. Allocated once per milestone, never per packet.</summary>
public sealed record ConnectionEvent(ConnectionEventKind Kind)
{
    public TransferOp Op { get; init; }

    public string Path { get; init; } = string.Empty;

    public long Size { get; init; }

    public long IdentitySize { get; init; }

    public long IdentityMtime { get; init; }

    public byte[]? Sha256 { get; init; }

    public TransferError Code { get; init; }

    public string Message { get; init; } = string.Empty;

    /// <summary>RequestReceived: the client's access token ("" when anonymous).</summary>
    public string Token { get; init; } = string.Empty;

    /// <summary>RequestReceived (PUT): the client's upload key from the UPLOAD_KEY frame before its REQUEST; null: none.</summary>
    public byte[]? UploadKey { get; init; }

    /// <summary>RequestReceived (PUT, MKDIR): the permission bits from the FILE_MODE frame before its REQUEST; null: none.</summary>
    public int? FileMode { get; init; }

    /// <summary>RequestReceived: the rate limit (bit/s, 0: none) from the RATE_LIMIT frame before the REQUEST; null: the client sent none.</summary>
    public long? RateLimit { get; init; }

    /// <summary>ServerKeyReceived: the server's DER SubjectPublicKeyInfo.</summary>
    public byte[]? ServerKey { get; init; }

    /// <summary>StreamData: the next bytes of the peer's control stream.</summary>
    public byte[]? StreamBytes { get; init; }

    /// <summary>For Closed: true when the peer closed, false when this side did (or timed out).</summary>
    public bool ByPeer { get; init; }
}

/// <summary>Counters of one connection.</summary>
public sealed class ConnectionStats
{
    public long PacketsSent;
    public long PacketsReceived;
    public long BytesSent;
    public long BytesReceived;
    public long DataBytesSent;
    public long DataBytesRetransmitted;
    public long PacketsLost;
    public long DuplicatePackets;
    public long DataBytesReceived;
    public long DuplicateDataBytes;
    public long ProbeTimeouts;
    public long MalformedPackets;

    /// <summary>Protected packets that did not authenticate, or arrived before the keys.</summary>
    public long UndecryptablePackets;

    /// <summary>Cleartext packets ignored because the session is encrypted.</summary>
    public long CleartextIgnored;

    /// <summary>Packets with file data (DATA, DATA_FIN) that arrived before this side could store it (left unacknowledged, so sent again).</summary>
    public long EarlyDataDropped;

    /// <summary>
    /// Other packets this side could not act on yet, left unacknowledged so they are sent again: transfer frames before
    /// the REQUEST they belong to, or cleartext frames before the HELLO that allows them.
    /// </summary>
    public long PrematurePacketsDropped;
}
