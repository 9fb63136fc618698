using Ferry.Protocol.Tftp;

namespace Ferry.Tests.Fuzz;

/// <summary>Valid TFTP datagrams of every opcode, built with the real writer.</summary>
internal static class TftpSeeds
{
    public static IReadOnlyList<TftpOption> ClientOptions { get; } = TftpNegotiation.ClientOptions(1428, 8, 3, 0);

    public static List<byte[]> All()
    {
        var b = new byte[TftpLimits.MaxPacketLength];
        var data = new byte[512];
        new Random(5).NextBytes(data);
        return
        [
            b[..TftpPacketWriter.WriteRequest(b, TftpOpcode.Rrq, "boot/pxelinux.0", TftpMode.Octet, ClientOptions)],
            b[..TftpPacketWriter.WriteRequest(b, TftpOpcode.Wrq, "upload.bin", TftpMode.Octet, TftpNegotiation.ClientOptions(512, 4, 5, 100_000))],
            b[..TftpPacketWriter.WriteRequest(b, TftpOpcode.Rrq, "notes.txt", TftpMode.NetAscii, [])],
            b[..TftpPacketWriter.WriteData(b, 1, data)],
            b[..TftpPacketWriter.WriteData(b, 2, data.AsSpan(0, 100))],
            b[..TftpPacketWriter.WriteAck(b, 0)],
            b[..TftpPacketWriter.WriteAck(b, 1)],
            b[..TftpPacketWriter.WriteError(b, TftpErrorCode.FileNotFound, "no such file")],
            b[..TftpPacketWriter.WriteOack(b, [new TftpOption("blksize", "1428"), new TftpOption("windowsize", "8"), new TftpOption("tsize", "5000")])],
        ];
    }
}
