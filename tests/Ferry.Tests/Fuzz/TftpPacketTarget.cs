using Ferry.Protocol.Tftp;

namespace Ferry.Tests.Fuzz;

/// <summary>
/// Every TFTP reader (request, OACK, DATA, ACK, ERROR), then option negotiation on what parsed: the server's
/// NegotiateServer on a request and the client's TryAcceptOack on an OACK. Checks the negotiated parameters'
/// bounds and that messages are printable.
/// </summary>
internal sealed class TftpPacketTarget : IFuzzInstance
{
    private static readonly TftpServerPolicy s_policy = new() { MaxWriteSize = 1L << 30 };

    public static FuzzTarget Target { get; } = new("tftp.packet", () => new TftpPacketTarget(), 256 << 10, TftpLimits.MaxPacketLength);

    public IReadOnlyList<byte[]> Seeds { get; } = TftpSeeds.All();

    public bool Run(byte[] input, Random rng)
    {
        if (!TftpPacketReader.TryReadOpcode(input, out var opcode))
        {
            return false;
        }

        switch (opcode)
        {
            case TftpOpcode.Rrq or TftpOpcode.Wrq:
                if (TftpPacketReader.ReadRequest(input, out var request) != TftpParseError.None)
                {
                    return false;
                }

                if (request!.FileName.Length == 0 || request.Options.Count > TftpLimits.MaxOptions)
                {
                    throw new FuzzPropertyException("request accepted out of bounds");
                }

                var n = TftpNegotiation.NegotiateServer(request, s_policy, 12345);
                if (!n.Refused)
                {
                    CheckParameters(n.Parameters);
                }

                return true;
            case TftpOpcode.Oack:
                if (TftpPacketReader.ReadOack(input, out var oack) != TftpParseError.None)
                {
                    return false;
                }

                if (TftpNegotiation.TryAcceptOack(TftpSeeds.ClientOptions, oack, isRead: true, 5_000_000, out var p, out _))
                {
                    CheckParameters(p);
                }

                return true;
            case TftpOpcode.Data:
                return TftpPacketReader.TryReadData(input, out _, out _);
            case TftpOpcode.Ack:
                return TftpPacketReader.TryReadAck(input, out _);
            default:
                if (!TftpPacketReader.TryReadError(input, out _, out string message))
                {
                    return false;
                }

                if (message.Length > TftpLimits.MaxErrorMessageChars || message.Any(c => c is < ' ' or > '~'))
                {
                    throw new FuzzPropertyException("ERROR message not cut or not printable");
                }

                return true;
        }
    }

    private static void CheckParameters(TftpTransferParameters p)
    {
        if (p.BlockSize < TftpLimits.MinBlockSize || p.BlockSize > TftpLimits.MaxBlockSize || p.WindowSize < 1 || p.WindowSize > TftpLimits.MaxWindowSize
            || p.TimeoutMicros < 1_000_000 || p.TimeoutMicros > TftpLimits.MaxTimeoutSeconds * 1_000_000L || p.TransferSize < 0)
        {
            throw new FuzzPropertyException($"negotiated parameters out of bounds: {p}");
        }
    }
}
