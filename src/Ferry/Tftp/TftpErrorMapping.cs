using Ferry.Files;
using Ferry.Protocol.Tftp;
using Ferry.Transfers;

namespace Ferry.Tftp;

/// <summary>Translations between file engine errors, TFTP error codes and client exit codes.</summary>
internal static class TftpErrorMapping
{
    /// <summary>The ERROR packet a server sends for a file engine refusal.</summary>
    public static TftpErrorCode ToTftp(FileErrorCode code) => code switch
    {
        FileErrorCode.NotFound => TftpErrorCode.FileNotFound,
        FileErrorCode.InvalidPath or FileErrorCode.NotRegularFile or FileErrorCode.Denied => TftpErrorCode.AccessViolation,
        FileErrorCode.NoSpace or FileErrorCode.TooLarge => TftpErrorCode.DiskFull,
        FileErrorCode.AlreadyExists => TftpErrorCode.FileAlreadyExists,
        _ => TftpErrorCode.NotDefined,
    };

    /// <summary>The ERROR packet for any local exception that ends a transfer.</summary>
    public static (TftpErrorCode Code, string Message) ToTftp(Exception ex) => ex switch
    {
        FileEngineException fe => (ToTftp(fe.Code), fe.Message),
        TftpSizeException => (TftpErrorCode.DiskFull, ex.Message),
        UnauthorizedAccessException => (TftpErrorCode.AccessViolation, "permission denied"),
        _ => (TftpErrorCode.NotDefined, "I/O error"),
    };

    /// <summary>The client's exception for a failed session.</summary>
    public static TransferException ToTransferException(TftpFailure failure, string peer) => failure.Reason switch
    {
        TftpFailureReason.PeerError => new TransferException(ExitCode.Refused, $"{peer}: server refused: {failure.Message} (TFTP error {(int)failure.Code}, {failure.Code})"),
        TftpFailureReason.PeerGone => new TransferException(ExitCode.Timeout, $"{peer}: no answer ({failure.Message})"),
        TftpFailureReason.ProtocolViolation => new TransferException(ExitCode.Failure, $"{peer}: protocol error: {failure.Message}"),
        _ => new TransferException(ExitCode.Failure, $"{peer}: {failure.Message}"),
    };

    /// <summary>Exit code of a local file error on the client side.</summary>
    public static ExitCode LocalExitCode(Exception ex) => ex switch
    {
        FileEngineException { Code: FileErrorCode.Integrity } => ExitCode.Integrity,
        TftpSizeException => ExitCode.Integrity,
        _ => ExitCode.LocalIo,
    };
}
