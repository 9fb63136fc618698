using System.Net;
using System.Text;
using Ferry.Protocol.Common;
using Ferry.Protocol.Relay;
using Ferry.Relay;

namespace Ferry.Tests.Relay;

public sealed class RelayWireTests
{
    [Fact]
    public void Crc32C_MatchesStandardCheckValue()
    {
        Assert.Equal(0xE3069283u, RelayWire.Crc32C("123456789"u8));
    }

    [Fact]
    public void Register_RoundTrips()
    {
        var r = new RelayRegistration
        {
            ClientId = 0x0102030405060708, Name = "zoë", Read = true, Write = false, Token = [1, 2, 3],
            SinceKind = RelaySinceKind.Time, SinceValue = 1_700_000_000_000, DelayMillis = 3000, WriterNext = 42,
        };
        var buffer = new byte[RelayWire.MaxDatagram];
        int n = RelayCodec.WriteRegister(buffer, r);
        Assert.Equal(RelayDatagramStatus.Ok, RelayWire.TryOpen(buffer.AsSpan(0, n), out var type, out ulong session, out var body));
        Assert.Equal(RelayPacketType.Register, type);
        Assert.Equal(0ul, session);
        Assert.True(RelayCodec.TryReadRegister(body, out var back));
        Assert.Equal(r with { Token = back!.Token }, back);
        Assert.Equal(r.Token, back.Token);
    }

    [Fact]
    public void Register_MaxDatagram_IsAnOptionalTrailingField_ClampedToItsRange()
    {
        var buffer = new byte[RelayWire.MaxDatagram];
        var plain = new RelayRegistration { ClientId = 1, Name = "r", Read = true };
        int without = RelayCodec.WriteRegister(buffer, plain);
        Assert.Equal(RelayDatagramStatus.Ok, RelayWire.TryOpen(buffer.AsSpan(0, without), out _, out _, out var body));
        Assert.True(RelayCodec.TryReadRegister(body, out var decoded));
        Assert.Equal(RelayWire.MaxDatagram, decoded!.MaxDatagram);

        int with = RelayCodec.WriteRegister(buffer, plain with { MaxDatagram = 16_000 });
        Assert.Equal(without + 2, with);
        Assert.Equal(RelayDatagramStatus.Ok, RelayWire.TryOpen(buffer.AsSpan(0, with), out _, out _, out body));
        Assert.True(RelayCodec.TryReadRegister(body, out decoded));
        Assert.Equal(16_000, decoded!.MaxDatagram);

        // Out-of-range values from a peer are clamped, and bytes after the field (a later extension) are ignored.
        foreach (var (raw, expected) in new[] { (100, RelayWire.MaxDatagram), (65_535, RelayWire.MaxLargeDatagram) })
        {
            var b = body.ToArray().Concat(new byte[] { 0xEE }).ToArray();
            System.Buffers.Binary.BinaryPrimitives.WriteUInt16BigEndian(b.AsSpan(b.Length - 3), (ushort)raw);
            Assert.True(RelayCodec.TryReadRegister(b, out decoded));
            Assert.Equal(expected, decoded!.MaxDatagram);
        }
    }

    [Fact]
    public void Registered_MaxDeliver_IsSentOnlyWhenAbove1200()
    {
        var buffer = new byte[RelayWire.MaxDatagram];
        var info = new RelayRegisteredInfo { ClientId = 4, ReaderStart = 1, FirstSeq = 1 };
        int without = RelayCodec.WriteRegistered(buffer, 9, info);
        Assert.Equal(RelayDatagramStatus.Ok, RelayWire.TryOpen(buffer.AsSpan(0, without), out _, out _, out var body));
        Assert.True(RelayCodec.TryReadRegistered(body, out var decoded));
        Assert.Equal(RelayWire.MaxDatagram, decoded!.MaxDeliverDatagram);

        int with = RelayCodec.WriteRegistered(buffer, 9, info with { MaxDeliverDatagram = 16_384 });
        Assert.Equal(without + 2, with);
        Assert.Equal(RelayDatagramStatus.Ok, RelayWire.TryOpen(buffer.AsSpan(0, with), out _, out _, out body));
        Assert.True(RelayCodec.TryReadRegistered(body, out decoded));
        Assert.Equal(16_384, decoded!.MaxDeliverDatagram);
    }

    [Fact]
    public void NameCache_ReturnsTheRightName_ForManyAuthors_AndForNamesThatShareASlot()
    {
        var cache = new RelayNameCache();
        var names = Enumerable.Range(0, 300).Select(i => $"writer{i}")
            .Concat(["aaaaaaaaXaaaaaaaa", "aaaaaaaaYaaaaaaaa", "aaaaaaaaZaaaaaaaa", "é", "ü", "短"]).ToList();
        for (int round = 0; round < 3; round++)
        {
            foreach (var name in names)
            {
                Assert.True(cache.TryGet(System.Text.Encoding.UTF8.GetBytes(name), out string got));
                Assert.Equal(name, got);
            }
        }

        Assert.False(cache.TryGet([0xC3, 0x28], out _));
    }

    [Fact]
    public void Ack_RoundTripsRanges()
    {
        var above = new RangeSet();
        above.Add(10, 12);
        above.Add(20, 21);
        var buffer = new byte[RelayWire.MaxDatagram];
        int n = RelayCodec.WriteAck(buffer, 77, 5, 100, above);
        Assert.Equal(RelayDatagramStatus.Ok, RelayWire.TryOpen(buffer.AsSpan(0, n), out _, out _, out var body));
        var ranges = new List<ByteRange>();
        Assert.True(RelayCodec.TryReadAck(body, out long next, out uint window, ranges));
        Assert.Equal(5, next);
        Assert.Equal(100u, window);
        Assert.Equal([new ByteRange(10, 12), new ByteRange(20, 21)], ranges);
    }

    [Fact]
    public void EveryFlippedBit_IsDetectedByCrc()
    {
        var buffer = new byte[RelayWire.MaxDatagram];
        int n = RelayCodec.WriteU64(buffer, RelayPacketType.PostAck, 9, 1234);
        for (int bit = 0; bit < n * 8; bit++)
        {
            var copy = buffer.AsSpan(0, n).ToArray();
            copy[bit / 8] ^= (byte)(1 << (bit % 8));
            Assert.NotEqual(RelayDatagramStatus.Ok, RelayWire.TryOpen(copy, out _, out _, out _));
        }
    }

    [Fact]
    public void MaximalLine_FitsOneDatagram_AndLongerIsRefusedAtTheWriter()
    {
        var client = new RelayClient(new RelayClientOptions { ClientId = 1, Name = "w", Read = false }, 0);
        string max = new string('é', RelayWire.MaxTextBytes / 2);   // 2 bytes each in UTF-8
        Assert.Equal(RelaySubmitResult.Ok, client.Submit(max, out _));
        Assert.Equal(RelaySubmitResult.TooLong, client.Submit(max + "x", out _));
        Assert.Equal(1, client.UnacknowledgedLines);

        // The DELIVER of a maximal line by a maximal author fits the datagram limit.
        var m = new RelayMessage(1, 0, new string('n', RelayWire.MaxNameBytes), max);
        Assert.True(RelayCodec.EntryFits(RelayCodec.DeliverHeaderLength, RelayCodec.EncodeEntry(m).Length));
    }

    [Fact]
    public void RandomAndTruncatedDatagrams_AreDroppedAndCounted_NeverThrow()
    {
        var rng = new Random(1234);
        var server = new RelayServer(new RelayServerOptions(), new InMemoryMessageStore(), () => (ulong)rng.NextInt64(1, long.MaxValue));
        var client = new RelayClient(new RelayClientOptions { ClientId = 5, Name = "c" }, 0);
        var from = new IPEndPoint(IPAddress.Loopback, 5000);
        var valid = new byte[RelayWire.MaxDatagram];
        int validLength = RelayCodec.WriteRegister(valid, new RelayRegistration { ClientId = 3, Name = "x", Read = true });
        var buffer = new byte[RelayWire.MaxDatagram];
        for (int i = 0; i < 20_000; i++)
        {
            byte[] junk;
            switch (i % 4)
            {
                case 0:
                    junk = new byte[rng.Next(0, 1500)];
                    rng.NextBytes(junk);
                    break;
                case 1:
                    junk = valid.AsSpan(0, rng.Next(0, validLength)).ToArray();
                    break;
                default:
                    // Valid CRC around a random body: exercises every body decoder with garbage.
                    junk = new byte[rng.Next(RelayWire.HeaderLength, 300) + RelayWire.TrailerLength];
                    rng.NextBytes(junk);
                    junk[0] = RelayWire.Version;
                    junk[1] = (byte)rng.Next(0, 13);
                    RelayWire.Seal(junk, junk.Length - RelayWire.TrailerLength);
                    break;
            }

            server.HandleDatagram(junk, from, i);
            client.HandleDatagram(junk, i);
            while (server.PollTransmit(buffer, i, out _) > 0)
            {
            }
        }

        Assert.True(server.Stats.DroppedCorrupt + server.Stats.DroppedMalformed + server.Stats.UnknownSession > 10_000);
        Assert.Equal(0, server.Stats.LinesAccepted);
        Assert.True(server.SessionCount <= new RelayServerOptions().MaxSessions);
    }

    [Fact]
    public void Post_WithInvalidUtf8_IsMalformed()
    {
        var buffer = new byte[RelayWire.MaxDatagram];
        int pos = RelayCodec.BeginPost(buffer, 1, 0);
        Assert.True(RelayCodec.TryAppendPostLine(buffer, ref pos, [0xC3, 0x28]));
        int n = RelayCodec.FinishPost(buffer, pos, 1);
        Assert.Equal(RelayDatagramStatus.Ok, RelayWire.TryOpen(buffer.AsSpan(0, n), out _, out _, out var body));
        Assert.False(RelayCodec.TryReadPost(body, out _, new List<string>()));
        Assert.True(Encoding.UTF8.GetByteCount("ok") < RelayWire.MaxTextBytes);
    }
}
