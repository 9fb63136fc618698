namespace Ferry.Protocol.Tftp;

/// <summary>The parameters one transfer runs with once options are negotiated.</summary>
/// <param name="BlockSize">Bytes per DATA block; a shorter block ends the transfer.</param>
/// <param name="WindowSize">DATA blocks sent per ACK (RFC 7440); 1 is classic lock-step TFTP.</param>
/// <param name="TimeoutMicros">Base retransmission timeout; consecutive timeouts back off from it.</param>
/// <param name="TransferSize">The file size announced with tsize, when known.</param>
public readonly record struct TftpTransferParameters(int BlockSize, int WindowSize, long TimeoutMicros, long? TransferSize)
{
    /// <summary>RFC 1350 behaviour: 512-byte blocks, lock-step, 5 s timeout, size unknown.</summary>
    public static TftpTransferParameters Default { get; } = new(TftpLimits.DefaultBlockSize, 1, TftpLimits.DefaultTimeoutMicros, null);
}
