using System.Buffers.Binary;
using Ferry.Protocol.Common;
using Ferry.Protocol.Udp.Wire;

namespace Ferry.Tests.Fuzz;

/// <summary>Valid UDP datagrams built with the real encoders: every packet type and every frame type.</summary>
internal static class UdpSeeds
{
    public delegate bool FrameWriter(ref SpanWriter w);

    /// <summary>A sealed Data packet to <paramref name="dcid"/> holding the frames <paramref name="frames"/> write.</summary>
    public static byte[] Data(ulong dcid, ulong pn, FrameWriter frames)
    {
        var buffer = new byte[Packet.DefaultMaxDatagram];
        int pos = Packet.WriteHeader(buffer, PacketType.Data, dcid, pn);
        var w = new SpanWriter(buffer.AsSpan(pos, buffer.Length - pos - Packet.TrailerSize));
        if (!frames(ref w))
        {
            throw new InvalidOperationException("seed frames do not fit");
        }

        return buffer[..Packet.Seal(buffer, pos + w.Position)];
    }

    /// <summary>An Initial from client <paramref name="scid"/> with a REQUEST, padded to the minimum size.</summary>
    public static byte[] Initial(ulong scid, ReadOnlySpan<byte> token, TransferOp op, string path, long size)
    {
        var buffer = new byte[Packet.MinInitialSize];
        int pos = Packet.WriteHeader(buffer, PacketType.Initial, 0, 0);
        BinaryPrimitives.WriteUInt64BigEndian(buffer.AsSpan(pos), scid);
        BinaryPrimitives.WriteUInt16BigEndian(buffer.AsSpan(pos + 8), (ushort)token.Length);
        token.CopyTo(buffer.AsSpan(pos + 10));
        var w = new SpanWriter(buffer.AsSpan(pos + 10 + token.Length, buffer.Length - pos - 10 - token.Length - Packet.TrailerSize));
        // A cleartext (--insecure) session: HELLO says so, and REQUEST rides in the same Initial, so every frame is acted on.
        FrameCodec.TryWriteHello(ref w, FrameType.Hello, [Ferry.Protocol.Security.HandshakeMessages.Version, Ferry.Protocol.Security.HandshakeMessages.SuiteNone]);
        FrameCodec.TryWriteRequest(ref w, op, Packet.DefaultMaxDatagram, path, size, size, 1234, "ferry_token");
        // The rest is PADDING (zero bytes).
        return buffer[..Packet.Seal(buffer, buffer.Length - Packet.TrailerSize)];
    }

    /// <summary>One Data packet per frame type, plus mixed ones, addressed to <paramref name="dcid"/>.</summary>
    public static List<byte[]> AllFrames(ulong dcid, long fileSize)
    {
        var sha = new byte[32];
        sha[0] = 1;
        var data = new byte[700];
        new Random(1).NextBytes(data);
        ulong pn = 1;
        var list = new List<byte[]>
        {
            Data(dcid, pn++, (ref SpanWriter w) => FrameCodec.TryWritePing(ref w)),
            Data(dcid, pn++, (ref SpanWriter w) => FrameCodec.TryWriteAck(ref w, new AckRange[] { new(0, 3) }, 100)),
            Data(dcid, pn++, (ref SpanWriter w) => FrameCodec.TryWriteAck(ref w, new AckRange[] { new(20, 30), new(10, 15), new(2, 5) }, 1000)),
            Data(dcid, pn++, (ref SpanWriter w) =>
            {
                FrameCodec.WriteDataHeader(ref w, 0, data.Length);
                w.WriteBytes(data);
                return true;
            }),
            Data(dcid, pn++, (ref SpanWriter w) =>
            {
                FrameCodec.WriteDataHeader(ref w, 4096, 100);
                w.WriteBytes(data.AsSpan(0, 100));
                FrameCodec.WriteDataHeader(ref w, 8192, 100);
                w.WriteBytes(data.AsSpan(100, 100));
                return FrameCodec.TryWritePing(ref w);
            }),
            Data(dcid, pn++, (ref SpanWriter w) => FrameCodec.TryWriteMaxData(ref w, 1 << 20)),
            Data(dcid, pn++, (ref SpanWriter w) => FrameCodec.TryWriteRequest(ref w, TransferOp.Put, 1452, "dir/file.bin", fileSize, fileSize, 99, string.Empty)),
            Data(dcid, pn++, (ref SpanWriter w) => FrameCodec.TryWriteAccept(ref w, 77, 1452, fileSize, 5)),
            Data(dcid, pn++, (ref SpanWriter w) => FrameCodec.TryWriteHave(ref w, new (long, long)[] { (0, 1000), (4096, 4096), (20000, 1) }, false)),
            Data(dcid, pn++, (ref SpanWriter w) => FrameCodec.TryWriteHave(ref w, [], true)),
            Data(dcid, pn++, (ref SpanWriter w) => FrameCodec.TryWriteDataFin(ref w, fileSize, sha)),
            Data(dcid, pn++, (ref SpanWriter w) => FrameCodec.TryWriteCodeMessage(ref w, FrameType.Result, 0, "ok")),
            Data(dcid, pn++, (ref SpanWriter w) => FrameCodec.TryWriteCodeMessage(ref w, FrameType.Close, 3, "bye now")),
            Data(dcid, pn++, (ref SpanWriter w) =>
            {
                w.WriteByte(0);
                w.WriteByte(0);
                return true;
            }),
        };
        return list;
    }

    /// <summary>Overwrites the destination id, the packet number (optionally) and the checksum of a mutated datagram.</summary>
    public static byte[] FixUp(byte[] input, Random rng, ulong dcid, ref ulong nextPn)
    {
        if (input.Length < Packet.HeaderSize + Packet.TrailerSize)
        {
            return input;
        }

        var copy = (byte[])input.Clone();
        bool sealedBefore = Packet.TryParse(input, out _) != PacketError.BadChecksum;
        if (rng.Next(4) != 0)
        {
            copy[0] = Packet.Magic;
            copy[1] = Packet.Version;
            BinaryPrimitives.WriteUInt64BigEndian(copy.AsSpan(4), dcid);
        }

        if (rng.Next(4) != 0)
        {
            BinaryPrimitives.WriteUInt64BigEndian(copy.AsSpan(12), nextPn++);
        }

        if (sealedBefore || rng.Next(8) != 0)
        {
            Packet.Seal(copy, copy.Length - Packet.TrailerSize);
        }

        return copy;
    }
}
