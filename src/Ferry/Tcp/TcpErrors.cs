using Ferry.Files;
using Ferry.Protocol.Tcp;
using Ferry.Transfers;

namespace Ferry.Tcp;

/// <summary>Maps between file-engine errors, wire error codes and CLI exit codes.</summary>
internal static class TcpErrors
{
    /// <summary>File engine codes travel as the same numbers.</summary>
    public static TcpErrorCode FromFile(FileErrorCode code) => (TcpErrorCode)(ushort)code;

    /// <summary>The exit code a client reports for an ERROR the server sent.</summary>
    public static ExitCode ToExitCode(TcpErrorCode code) => code switch
    {
        TcpErrorCode.Integrity => ExitCode.Integrity,
        TcpErrorCode.Io => ExitCode.Failure,
        TcpErrorCode.InvalidPath or TcpErrorCode.NotFound or TcpErrorCode.NotRegularFile or TcpErrorCode.AlreadyExists
            or TcpErrorCode.Busy or TcpErrorCode.NoSpace or TcpErrorCode.Denied or TcpErrorCode.TooLarge
            or TcpErrorCode.ServerBusy or TcpErrorCode.Unauthorized or TcpErrorCode.EncryptionRequired
            or TcpErrorCode.EncryptionUnavailable => ExitCode.Refused,
        TcpErrorCode.HandshakeTimeout or TcpErrorCode.IdleTimeout or TcpErrorCode.ShuttingDown => ExitCode.Timeout,
        _ => ExitCode.Failure,
    };

    /// <summary>The exit code for a local file-engine failure on the client.</summary>
    public static ExitCode LocalExitCode(FileErrorCode code) => code switch
    {
        FileErrorCode.Integrity => ExitCode.Integrity,
        _ => ExitCode.LocalIo,
    };
}
