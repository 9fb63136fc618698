using Ferry.Files;
using Ferry.Protocol.Tcp;
using Ferry.Transfers;

namespace Ferry.Tcp;

/// <summary>tcp://'s mapping between the failure catalog (<see cref="FailureKind"/>) and ERROR frame codes.</summary>
internal static class TcpErrors
{
    /// <summary>The ERROR code for a catalog entry (file engine codes travel as the same numbers).</summary>
    public static TcpErrorCode ToWire(FailureKind kind) => kind switch
    {
        <= FailureKind.TooLarge => (TcpErrorCode)(ushort)kind,
        FailureKind.ServerShutdown => TcpErrorCode.ShuttingDown,
        FailureKind.ServerBusy => TcpErrorCode.ServerBusy,
        FailureKind.Unauthorized => TcpErrorCode.Unauthorized,
        FailureKind.EncryptionRequired => TcpErrorCode.EncryptionRequired,
        FailureKind.EncryptionUnavailable => TcpErrorCode.EncryptionUnavailable,
        FailureKind.HandshakeFailed or FailureKind.ProtocolViolation => TcpErrorCode.BadFrame,
        FailureKind.IdleTimeout => TcpErrorCode.IdleTimeout,
        FailureKind.Cancelled => TcpErrorCode.Cancelled,
        _ => TcpErrorCode.Internal,
    };

    /// <summary>The catalog entry of an ERROR code a peer sent.</summary>
    public static FailureKind FromWire(TcpErrorCode code) => code switch
    {
        <= TcpErrorCode.TooLarge => (FailureKind)(ushort)code,
        TcpErrorCode.ShuttingDown => FailureKind.ServerShutdown,
        TcpErrorCode.ServerBusy => FailureKind.ServerBusy,
        TcpErrorCode.Unauthorized => FailureKind.Unauthorized,
        TcpErrorCode.EncryptionRequired => FailureKind.EncryptionRequired,
        TcpErrorCode.EncryptionUnavailable => FailureKind.EncryptionUnavailable,
        TcpErrorCode.BadFrame or TcpErrorCode.UnsupportedVersion or TcpErrorCode.UnknownSession or TcpErrorCode.BadStream => FailureKind.ProtocolViolation,
        TcpErrorCode.HandshakeTimeout or TcpErrorCode.IdleTimeout => FailureKind.IdleTimeout,
        TcpErrorCode.Cancelled => FailureKind.Cancelled,
        _ => FailureKind.Internal,
    };

    /// <summary>The ERROR code for a file engine refusal.</summary>
    public static TcpErrorCode FromFile(FileErrorCode code) => ToWire(Failures.From(code));

    /// <summary>The exit code a client reports for an ERROR the server sent.</summary>
    public static ExitCode ToExitCode(TcpErrorCode code) => Failures.ToExitCode(FromWire(code));

    /// <summary>The exit code for a local file-engine failure on the client.</summary>
    public static ExitCode LocalExitCode(FileErrorCode code) => Failures.ToLocalExitCode(code);
}
