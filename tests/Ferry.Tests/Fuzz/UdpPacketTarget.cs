using Ferry.Protocol.Common;
using Ferry.Protocol.Udp.Wire;

namespace Ferry.Tests.Fuzz;

/// <summary>
/// Packet.TryParse and FrameCodec.TryRead over every frame of the payload (and ReadHaveRanges on HAVE frames),
/// on the raw input and on a copy whose checksum was repaired so mutations reach the frame decoder.
/// Checks that every decoded frame's fields obey the documented bounds and that each frame consumes input.
/// </summary>
internal sealed class UdpPacketTarget : IFuzzInstance
{
    private readonly AckRange[] _scratch = new AckRange[FrameCodec.MaxAckRanges + 1];
    private ulong _pn = 1000;

    // The cap covers the harness's own copy of the input (FixUp, up to 64 KiB) plus the decoded strings: a long
    // campaign found 70-74 KB for 30-40 KB inputs of many frames against the old 64 KiB cap (linear, not unbounded).
    public static FuzzTarget Target { get; } = new("udp.packet", () => new UdpPacketTarget(), 160 << 10, Packet.MaxMaxDatagram);

    public IReadOnlyList<byte[]> Seeds { get; } = BuildSeeds();

    public bool Run(byte[] input, Random rng)
    {
        bool ok = Parse(input);
        return Parse(UdpSeeds.FixUp(input, rng, 42, ref _pn)) || ok;
    }

    private static List<byte[]> BuildSeeds()
    {
        var seeds = UdpSeeds.AllFrames(42, 1 << 20);
        seeds.Add(UdpSeeds.Initial(7, [], TransferOp.Get, "a.txt", 0));
        seeds.Add(UdpSeeds.Initial(7, new byte[24], TransferOp.Put, "up/b.bin", 123456));
        var retry = new byte[64];
        seeds.Add(retry[..Packet.WriteRetry(retry, 7, new byte[24])]);
        return seeds;
    }

    private bool Parse(ReadOnlySpan<byte> datagram)
    {
        Packet.TryPeekDestination(datagram, out _, out _);
        if (Packet.TryParse(datagram, out var packet) != PacketError.None)
        {
            return false;
        }

        if (packet.Token.Length > Packet.MaxTokenLength)
        {
            throw new FuzzPropertyException($"token of {packet.Token.Length} bytes accepted");
        }

        var r = new SpanReader(packet.Payload);
        int frames = 0;
        while (!r.End)
        {
            int before = r.Position;
            if (!FrameCodec.TryRead(ref r, _scratch, out var f))
            {
                return false;
            }

            if (r.Position <= before || ++frames > packet.Payload.Length)
            {
                throw new FuzzPropertyException($"frame decoder made no progress at {before}");
            }

            CheckFrame(f);
        }

        return true;
    }

    private void CheckFrame(in Frame f)
    {
        switch (f.Type)
        {
            case FrameType.Data:
                if (f.Offset < 0 || f.Length != f.Data.Length || f.Offset + f.Length > FrameCodec.MaxFileSize)
                {
                    throw new FuzzPropertyException($"DATA frame out of bounds: offset {f.Offset} length {f.Length}");
                }

                break;
            case FrameType.Ack:
                ulong previous = ulong.MaxValue;
                for (int i = 0; i < f.AckRangeCount; i++)
                {
                    var a = _scratch[i];
                    if (a.Smallest > a.Largest || a.Largest > f.LargestAcked || (i > 0 && a.Largest + 1 >= previous))
                    {
                        throw new FuzzPropertyException($"ACK range {i} [{a.Smallest},{a.Largest}] is not descending and disjoint");
                    }

                    previous = a.Smallest;
                }

                break;
            case FrameType.Have:
                var set = new RangeSet();
                if (f.AckRangeCount > FrameCodec.MaxHaveRanges || !FrameCodec.ReadHaveRanges(f, set, FrameCodec.MaxFileSize) || set.Count > FrameCodec.MaxHaveRanges)
                {
                    throw new FuzzPropertyException("HAVE frame accepted by TryRead but not by ReadHaveRanges");
                }

                break;
            case FrameType.Request:
                // A path or token that is not UTF-8 decodes as null, and an out-of-range max datagram as is: the server
                // refuses them with a reason.
                if (f.MaxDatagram < 0 || (f.Text is not null && System.Text.Encoding.UTF8.GetByteCount(f.Text) > FrameCodec.MaxPathBytes)
                    || f.Size < 0 || f.IdentityMtime < 0)
                {
                    throw new FuzzPropertyException("REQUEST fields out of bounds");
                }

                break;
            case FrameType.DataFin:
                if (f.Data.Length != FrameCodec.Sha256Length || f.Length < 0)
                {
                    throw new FuzzPropertyException("DATA_FIN fields out of bounds");
                }

                break;
        }
    }
}
