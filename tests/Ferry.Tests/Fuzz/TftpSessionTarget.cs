using System.Buffers.Binary;
using Ferry.Protocol.Tftp;
using Ferry.Tests.Tftp;

namespace Ferry.Tests.Fuzz;

/// <summary>
/// The four TFTP session roles (server receiving a write, server sending a read, client reading, client writing)
/// fed mutated datagrams with a fake clock. Block numbers are steered near the expected ones half of the time so
/// inputs get past the first check. The sink fails on any write that is not the next contiguous range.
/// </summary>
internal sealed class TftpSessionTarget : IFuzzInstance
{
    private static readonly byte[] s_file = MemoryBlockSource.Content(40_000, 11);
    private readonly TftpSession[] _sessions = new TftpSession[4];
    private readonly byte[] _buffer = new byte[TftpLimits.MaxPacketLength];
    private long _now = 3_000_000_000 + 99;

    public TftpSessionTarget()
    {
        for (int i = 0; i < _sessions.Length; i++)
        {
            _sessions[i] = Create(i);
        }
    }

    public static FuzzTarget Target { get; } = new("tftp.session", () => new TftpSessionTarget(), 1 << 20, TftpLimits.MaxPacketLength, ResetEvery: 400);

    public IReadOnlyList<byte[]> Seeds { get; } = TftpSeeds.All();

    public bool Run(byte[] input, Random rng)
    {
        int which = rng.Next(_sessions.Length);
        var session = _sessions[which];
        var datagram = (byte[])input.Clone();
        if (datagram.Length >= 4 && rng.Next(2) == 0)
        {
            long expected = session switch
            {
                TftpReceiver r => r.ReceivedBlock + 1 + rng.Next(-2, 3),
                TftpSender s => s.AckedBlock + rng.Next(0, 10),
                _ => 0,
            };
            BinaryPrimitives.WriteUInt16BigEndian(datagram.AsSpan(2), (ushort)expected);
        }

        bool ok = TftpPacketReader.TryReadOpcode(datagram, out _);
        session.HandleDatagram(datagram, _now);
        for (int i = 0; i < 64 && session.PollTransmit(_buffer) > 0; i++)
        {
        }

        _now += rng.Next(1_000_000);
        if (session.NextWakeupMicros <= _now)
        {
            session.HandleTimeout(_now);
        }

        for (int events = 0; session.TryPollEvent(out var e); events++)
        {
            if (events > 16)
            {
                throw new FuzzPropertyException("more than 16 events from one datagram");
            }

            if (e.Kind == TftpEventKind.DataComplete && session is TftpReceiver receiver)
            {
                receiver.ConfirmComplete(_now);
            }
        }

        if (session.IsFinished)
        {
            _sessions[which] = Create(which);
        }

        return ok;
    }

    private TftpSession Create(int kind)
    {
        var policy = new TftpServerPolicy();
        switch (kind)
        {
            case 0:
            {
                TftpPacketReader.ReadRequest(TftpSeeds.All()[1], out var wrq);
                return TftpReceiver.ForServer(new MemoryBlockSink(), TftpNegotiation.NegotiateServer(wrq!, policy, null), TftpSessionConfig.Server, _now);
            }

            case 1:
            {
                TftpPacketReader.ReadRequest(TftpSeeds.All()[0], out var rrq);
                return TftpSender.ForServer(new MemoryBlockSource(s_file), TftpNegotiation.NegotiateServer(rrq!, policy, s_file.Length), TftpSessionConfig.Server, _now);
            }

            case 2:
                return TftpReceiver.ForClient(new MemoryBlockSink(), "f", TftpSeeds.ClientOptions, 1_000_000, TftpSessionConfig.Client, _now);
            default:
                return TftpSender.ForClient(new MemoryBlockSource(s_file), "f", TftpNegotiation.ClientOptions(512, 4, 2, s_file.Length), 1_000_000, TftpSessionConfig.Client, _now);
        }
    }
}
