using System.Buffers.Binary;
using System.Text;
using Ferry.Protocol.Common;
using Ferry.Protocol.Relay;

namespace Ferry.Tests.Fuzz;

/// <summary>Valid relay datagrams of every type, built with the real codec.</summary>
internal static class RelaySeeds
{
    public const ulong ClientId = 0xC11E;

    public static List<byte[]> All(ulong session)
    {
        var b = new byte[RelayWire.MaxDatagram];
        var list = new List<byte[]>
        {
            b[..RelayCodec.WriteRegister(b, new RelayRegistration { ClientId = ClientId, Name = "alice", Read = true, Write = true, SinceKind = RelaySinceKind.Sequence, SinceValue = 1, Token = [1, 2, 3] })],
            b[..RelayCodec.WriteRegistered(b, session, new RelayRegisteredInfo { ClientId = ClientId, ReaderStart = 1, FirstSeq = 1, LastSeq = 0, MaxTextBytes = RelayWire.MaxTextBytes, IdleTimeoutMillis = 15000, KeepaliveMillis = 3000 })],
            b[..RelayCodec.WriteRefused(b, ClientId, RelayRefusal.NameInUse, "name taken")],
            b[..RelayCodec.WriteEmpty(b, RelayPacketType.Ping, session)],
            b[..RelayCodec.WriteEmpty(b, RelayPacketType.UnknownSession, session)],
            b[..RelayCodec.WriteU64(b, RelayPacketType.PostAck, session, 3)],
            b[..RelayCodec.WriteU64(b, RelayPacketType.Pong, session, 7)],
        };

        int pos = RelayCodec.BeginPost(b, session, 0);
        RelayCodec.TryAppendPostLine(b, ref pos, "hello"u8);
        RelayCodec.TryAppendPostLine(b, ref pos, Encoding.UTF8.GetBytes("second line ✓"));
        list.Add(b[..RelayCodec.FinishPost(b, pos, 2)]);

        pos = RelayCodec.BeginDeliver(b, session, 1, 0);
        foreach (var m in new[] { new RelayMessage(1, 1_700_000_000_000, "alice", "hi"), new RelayMessage(2, 1_700_000_000_001, "bob", "yo") })
        {
            var e = RelayCodec.EncodeEntry(m);
            e.CopyTo(b.AsSpan(pos));
            pos += e.Length;
        }

        list.Add(b[..RelayCodec.FinishDeliver(b, pos, 2)]);
        pos = RelayCodec.BeginDeliver(b, session, 3, RelayCodec.DeliverFlagPruned);
        list.Add(b[..RelayCodec.FinishDeliver(b, pos, 5)]);

        var above = new RangeSet();
        above.Add(5, 7);
        above.Add(9, 10);
        list.Add(b[..RelayCodec.WriteAck(b, session, 3, 256, above)]);
        list.Add(b[..RelayCodec.WriteEmpty(b, RelayPacketType.Bye, session)]);
        return list;
    }

    /// <summary>Sets version and session (usually) and repairs the CRC (usually) of a mutated datagram.</summary>
    public static byte[] FixUp(byte[] input, Random rng, ulong session)
    {
        if (input.Length < RelayWire.HeaderLength + RelayWire.TrailerLength)
        {
            return input;
        }

        var copy = (byte[])input.Clone();
        bool sealedBefore = RelayWire.TryOpen(input, out _, out _, out _) != RelayDatagramStatus.BadChecksum;
        if (rng.Next(4) != 0)
        {
            copy[0] = RelayWire.Version;
            BinaryPrimitives.WriteUInt64BigEndian(copy.AsSpan(2), session);
        }

        if (sealedBefore || rng.Next(8) != 0)
        {
            RelayWire.Seal(copy, copy.Length - RelayWire.TrailerLength);
        }

        return copy;
    }
}
