using Ferry.Protocol.Tcp;

namespace Ferry.Tcp;

/// <summary>
/// Ends one connection or session of the tcp:// shells: either the peer broke the protocol (the codec returned a
/// violation), sent an ERROR frame, or the connection was lost. <see cref="Code"/> is what goes back on the wire
/// (or what the peer sent). Shell-internal: the pure codec reports violations as values.
/// </summary>
internal sealed class TcpPeerException : Exception
{
    public TcpPeerException(TcpErrorCode code, string message, bool fromPeer = false, Exception? inner = null)
        : base(message, inner)
    {
        Code = code;
        FromPeer = fromPeer;
    }

    /// <summary>The error code (sent to, or received from, the peer).</summary>
    public TcpErrorCode Code { get; }

    /// <summary>True when the peer sent this error in an ERROR frame.</summary>
    public bool FromPeer { get; }

    /// <summary>True when the connection itself broke (reset, closed, aborted) rather than a protocol exchange failing.</summary>
    public bool ConnectionLost { get; init; }

    public static TcpPeerException Lost(string what, Exception? inner = null) =>
        new(TcpErrorCode.Internal, what, inner: inner) { ConnectionLost = true };

    public static TcpPeerException Violation(TcpDecodeStatus status, string what) =>
        new(status == TcpDecodeStatus.UnsupportedVersion ? TcpErrorCode.UnsupportedVersion : TcpErrorCode.BadFrame, $"{what}: {Describe(status)}");

    public static string Describe(TcpDecodeStatus status) => status switch
    {
        TcpDecodeStatus.BadMagic => "not a ferry tcp:// peer (bad magic)",
        TcpDecodeStatus.UnsupportedVersion => $"unsupported protocol version (this side speaks {TcpWire.Version})",
        TcpDecodeStatus.BadPreamble => "bad connection preamble",
        TcpDecodeStatus.UnexpectedType => "unexpected frame type",
        TcpDecodeStatus.BadLength => "frame length out of bounds",
        TcpDecodeStatus.Malformed => "malformed frame",
        _ => status.ToString(),
    };
}
