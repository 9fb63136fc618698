using Ferry.Files;
using Ferry.Protocol.Tftp;
using Ferry.Transfers;

namespace Ferry.Tftp;

/// <summary>
/// tftp://'s mapping between the failure catalog (<see cref="FailureKind"/>) and ERROR packets. RFC 1350's codes
/// name only a few entries; the others travel as code 0 (not defined) with the catalog's words, which a Ferry
/// client recognises.
/// </summary>
internal static class TftpErrorMapping
{
    /// <summary>The ERROR code for a catalog entry.</summary>
    public static TftpErrorCode ToWire(FailureKind kind) => kind switch
    {
        FailureKind.NotFound => TftpErrorCode.FileNotFound,
        FailureKind.InvalidPath or FailureKind.NotRegularFile or FailureKind.Denied or FailureKind.Unauthorized => TftpErrorCode.AccessViolation,
        FailureKind.NoSpace or FailureKind.TooLarge => TftpErrorCode.DiskFull,
        FailureKind.AlreadyExists => TftpErrorCode.FileAlreadyExists,
        FailureKind.ProtocolViolation => TftpErrorCode.IllegalOperation,
        _ => TftpErrorCode.NotDefined,
    };

    /// <summary>The catalog entry of an ERROR packet a peer sent.</summary>
    public static FailureKind FromWire(TftpErrorCode code, string message) => code switch
    {
        TftpErrorCode.FileNotFound => FailureKind.NotFound,
        TftpErrorCode.AccessViolation or TftpErrorCode.NoSuchUser => FailureKind.Denied,
        TftpErrorCode.DiskFull => FailureKind.NoSpace,
        TftpErrorCode.FileAlreadyExists => FailureKind.AlreadyExists,
        TftpErrorCode.IllegalOperation or TftpErrorCode.UnknownTransferId => FailureKind.ProtocolViolation,
        _ when message.StartsWith(Failures.Describe(FailureKind.ServerShutdown), StringComparison.Ordinal) => FailureKind.ServerShutdown,
        _ when message == Failures.Describe(FailureKind.Io) => FailureKind.Io,
        _ when message == Failures.Describe(FailureKind.ServerBusy) => FailureKind.ServerBusy,

        // Other servers use code 0 for any refusal of their own ("permission denied", "only absolute paths").
        _ => FailureKind.Denied,
    };

    /// <summary>The ERROR packet a server sends for a file engine refusal.</summary>
    public static TftpErrorCode ToTftp(FileErrorCode code) => ToWire(Failures.From(code));

    /// <summary>The ERROR packet for any local exception that ends a transfer.</summary>
    public static (TftpErrorCode Code, string Message) ToTftp(Exception ex) => ex switch
    {
        FileEngineException fe => (ToTftp(fe.Code), fe.Message),
        TftpSizeException => (TftpErrorCode.DiskFull, ex.Message),
        UnauthorizedAccessException => (TftpErrorCode.AccessViolation, Failures.Describe(FailureKind.Denied)),
        _ => (TftpErrorCode.NotDefined, Failures.Describe(FailureKind.Io)),
    };

    /// <summary>The client's exception for a failed session.</summary>
    public static TransferException ToTransferException(TftpFailure failure, string peer) => failure.Reason switch
    {
        TftpFailureReason.PeerError => Failures.FromServer(FromWire(failure.Code, failure.Message), failure.Message, resumable: false),
        TftpFailureReason.PeerGone => new TransferException(ExitCode.Timeout, $"{peer}: no answer ({failure.Message}); {Failures.RestartHint}"),
        TftpFailureReason.ProtocolViolation => new TransferException(ExitCode.Failure, $"{peer}: protocol error: {failure.Message}"),
        _ => new TransferException(ExitCode.Failure, $"{peer}: {failure.Message}"),
    };

    /// <summary>Exit code of a local file error on the client side.</summary>
    public static ExitCode LocalExitCode(Exception ex) => ex switch
    {
        FileEngineException fe => Failures.ToLocalExitCode(fe.Code),
        TftpSizeException => ExitCode.Integrity,
        _ => ExitCode.LocalIo,
    };
}
