namespace Ferry.Protocol.Tftp;

/// <summary>What a TFTP session reports to its shell.</summary>
public enum TftpEventKind
{
    /// <summary>Parameters are settled (after the OACK, or the first reply without one); see <see cref="TftpSession.Parameters"/>.</summary>
    Negotiated,

    /// <summary>A receiver that confirms its final block got it; call <see cref="TftpReceiver.ConfirmComplete"/> or Abort.</summary>
    DataComplete,

    /// <summary>Every byte is delivered and acknowledged.</summary>
    Completed,

    /// <summary>The transfer ended without completing; see <see cref="TftpEvent.Failure"/>.</summary>
    Failed,
}

/// <summary>Why a transfer failed.</summary>
public enum TftpFailureReason
{
    /// <summary>The peer sent an ERROR packet.</summary>
    PeerError,

    /// <summary>The peer stayed silent for <see cref="TftpLimits.MaxConsecutiveTimeouts"/> consecutive timeouts.</summary>
    PeerGone,

    /// <summary>The peer broke the protocol (bad OACK, oversized DATA); we sent an ERROR.</summary>
    ProtocolViolation,

    /// <summary>The local side aborted (file error, cancellation); we sent an ERROR.</summary>
    LocalAbort,
}

/// <summary>Details of a failed transfer: the TFTP error code sent or received and a printable message.</summary>
public sealed record TftpFailure(TftpFailureReason Reason, TftpErrorCode Code, string Message)
{
    public override string ToString() => $"{Reason}: {Code} {Message}";
}

/// <summary>One session event.</summary>
public readonly record struct TftpEvent(TftpEventKind Kind, TftpFailure? Failure = null);
