namespace Ferry.Protocol.Tftp;

/// <summary>The server's answer to a request's options: the parameters, the OACK (empty: none) or a refusal.</summary>
public sealed record TftpServerNegotiation(TftpTransferParameters Parameters, IReadOnlyList<TftpOption> Oack, TftpErrorCode? RefusalCode, string? RefusalMessage)
{
    public bool Refused => RefusalCode is not null;
}
