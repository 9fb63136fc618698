using Ferry.Files;
using Ferry.Protocol.Udp;
using Ferry.Transfers;

namespace Ferry.Udp;

/// <summary>udp://'s mapping between the failure catalog (<see cref="FailureKind"/>) and CLOSE codes.</summary>
internal static class UdpErrors
{
    /// <summary>The CLOSE code for a catalog entry (file engine codes travel as the same numbers).</summary>
    public static TransferError ToWire(FailureKind kind) => kind switch
    {
        <= FailureKind.TooLarge => (TransferError)(ushort)kind,
        FailureKind.ServerShutdown => TransferError.ServerShutdown,
        FailureKind.ServerBusy => TransferError.ServerBusy,
        FailureKind.Unauthorized => TransferError.Denied,
        FailureKind.EncryptionRequired => TransferError.EncryptionRequired,
        FailureKind.EncryptionUnavailable => TransferError.EncryptionUnavailable,
        FailureKind.HandshakeFailed => TransferError.HandshakeFailed,
        FailureKind.IdleTimeout => TransferError.IdleTimeout,
        FailureKind.Cancelled => TransferError.Cancelled,
        _ => TransferError.ProtocolViolation,
    };

    /// <summary>The catalog entry of a CLOSE code a peer sent.</summary>
    public static FailureKind FromWire(TransferError code) => code switch
    {
        >= TransferError.InvalidPath and <= TransferError.TooLarge => (FailureKind)(ushort)code,
        TransferError.ServerShutdown => FailureKind.ServerShutdown,
        TransferError.ServerBusy => FailureKind.ServerBusy,
        TransferError.EncryptionRequired => FailureKind.EncryptionRequired,
        TransferError.EncryptionUnavailable => FailureKind.EncryptionUnavailable,
        TransferError.HandshakeFailed => FailureKind.HandshakeFailed,
        TransferError.IdleTimeout => FailureKind.IdleTimeout,
        TransferError.Cancelled => FailureKind.Cancelled,
        _ => FailureKind.ProtocolViolation,
    };

    /// <summary>The CLOSE code for a failure on this side's files.</summary>
    public static TransferError ToWire(Exception e) => e switch
    {
        FileEngineException fe => ToWire(Failures.From(fe.Code)),
        UnauthorizedAccessException => TransferError.Denied,
        IOException io when IsNoSpace(io) => TransferError.NoSpace,
        _ => TransferError.Io,
    };

    public static bool IsNoSpace(IOException e) => (e.HResult & 0xFFFF) == 28 || e.Message.Contains("No space left", StringComparison.OrdinalIgnoreCase);
}
