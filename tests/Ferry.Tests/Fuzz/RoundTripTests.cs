using System.Text;
using Ferry.Protocol.Common;
using Ferry.Protocol.Relay;
using Ferry.Protocol.Tcp;
using Ferry.Protocol.Tftp;
using Ferry.Protocol.Udp.Wire;
using Ferry.Protocol.Zmq;

namespace Ferry.Tests.Fuzz;

/// <summary>decode(encode(x)) == x for random valid x, for every encoder that has a decoder (seeded, 500 cases each).</summary>
public class RoundTripTests
{
    private const int Cases = 500;

    [Fact]
    public void Udp_varints_and_frames_round_trip()
    {
        var rng = new Random(101);
        var buffer = new byte[Packet.MaxMaxDatagram];
        var scratch = new AckRange[FrameCodec.MaxAckRanges + 1];
        for (int i = 0; i < Cases; i++)
        {
            ulong v = RandomVarInt(rng);
            int n = VarInt.Write(buffer, v);
            Assert.Equal(VarInt.SizeOf(v), n);
            Assert.Equal(n, VarInt.Read(buffer.AsSpan(0, n), out ulong back));
            Assert.Equal(v, back);

            // ACK: random disjoint, non-adjacent ranges, highest first.
            var ranges = new List<AckRange>();
            ulong top = (ulong)rng.NextInt64(1L << 40) + 10_000;
            for (int k = rng.Next(1, 40); k > 0 && top > 2; k--)
            {
                ulong len = (ulong)rng.Next(0, 50);
                ulong smallest = top > len ? top - len : 0;
                ranges.Add(new AckRange(smallest, top));
                if (smallest < 3)
                {
                    break;
                }

                top = smallest - 2 - (ulong)rng.Next(0, (int)Math.Min(100UL, smallest - 2));
            }

            ulong delay = (ulong)rng.Next(100_000);
            var w = new SpanWriter(buffer);
            Assert.True(FrameCodec.TryWriteAck(ref w, ranges.ToArray(), delay));
            var r = new SpanReader(buffer.AsSpan(0, w.Position));
            Assert.True(FrameCodec.TryRead(ref r, scratch, out var f));
            Assert.True(r.End);
            Assert.Equal(ranges, scratch.Take(f.AckRangeCount));
            Assert.Equal(delay, f.AckDelayMicros);

            // REQUEST, ACCEPT, DATA_FIN, RESULT, HAVE, MAX_DATA, DATA in one packet.
            string path = RandomText(rng, rng.Next(1, 200));
            long size = rng.NextInt64(FrameCodec.MaxFileSize / 2), mtime = rng.NextInt64(long.MaxValue >> 2), offset = rng.NextInt64(1L << 40);
            var sha = new byte[32];
            rng.NextBytes(sha);
            var have = Enumerable.Range(0, rng.Next(0, FrameCodec.MaxHaveRanges + 1)).Select(k => ((long)k * 1000, (long)rng.Next(1, 1000))).ToArray();
            var data = new byte[rng.Next(0, 300)];
            rng.NextBytes(data);
            string message = RandomText(rng, rng.Next(0, 100));
            w = new SpanWriter(buffer);
            string token = RandomText(rng, rng.Next(0, 60));
            Assert.True(FrameCodec.TryWriteRequest(ref w, TransferOp.Put, 1452, path, size, size, mtime, token));
            Assert.True(FrameCodec.TryWriteAccept(ref w, (ulong)rng.NextInt64(), 1300, size, mtime));
            Assert.True(FrameCodec.TryWriteDataFin(ref w, size, sha));
            Assert.True(FrameCodec.TryWriteCodeMessage(ref w, FrameType.Result, rng.Next(0, 0xFFFF), message));
            Assert.True(FrameCodec.TryWriteHave(ref w, have, complete: true));
            Assert.True(FrameCodec.TryWriteMaxData(ref w, offset));
            FrameCodec.WriteDataHeader(ref w, offset, data.Length);
            w.WriteBytes(data);

            r = new SpanReader(buffer.AsSpan(0, w.Position));
            Assert.True(FrameCodec.TryRead(ref r, scratch, out f));
            Assert.Equal((FrameType.Request, TransferOp.Put, 1452, path, size, mtime, token), (f.Type, f.Op, f.MaxDatagram, f.Text, f.Size, f.IdentityMtime, f.Token));
            Assert.True(FrameCodec.TryRead(ref r, scratch, out f));
            Assert.Equal((FrameType.Accept, 1300, size, mtime), (f.Type, f.MaxDatagram, f.Size, f.IdentityMtime));
            Assert.True(FrameCodec.TryRead(ref r, scratch, out f));
            Assert.Equal(FrameType.DataFin, f.Type);
            Assert.Equal(size, f.Length);
            Assert.Equal(sha, f.Data.ToArray());
            Assert.True(FrameCodec.TryRead(ref r, scratch, out f));
            Assert.Equal((FrameType.Result, message), (f.Type, f.Text));
            Assert.True(FrameCodec.TryRead(ref r, scratch, out f));
            Assert.True(f.HaveComplete);
            var set = new RangeSet();
            Assert.True(FrameCodec.ReadHaveRanges(f, set, long.MaxValue));
            var expected = new RangeSet();
            foreach (var (s, l) in have)
            {
                expected.Add(s, s + l);
            }

            Assert.Equal(expected.ToString(), set.ToString());
            Assert.True(FrameCodec.TryRead(ref r, scratch, out f));
            Assert.Equal((FrameType.MaxData, offset), (f.Type, f.Offset));
            Assert.True(FrameCodec.TryRead(ref r, scratch, out f));
            Assert.Equal((FrameType.Data, offset), (f.Type, f.Offset));
            Assert.Equal(data, f.Data.ToArray());
            Assert.True(r.End);
        }
    }

    [Fact]
    public void Udp_packets_round_trip()
    {
        var rng = new Random(102);
        for (int i = 0; i < Cases; i++)
        {
            ulong scid = (ulong)rng.NextInt64(), pn = (ulong)rng.NextInt64((long)VarInt.MaxValue);
            var token = new byte[rng.Next(0, Packet.MaxTokenLength + 1)];
            rng.NextBytes(token);
            var initial = UdpSeeds.Initial(scid, token, TransferOp.Get, RandomText(rng, rng.Next(1, 50)), 0);
            Assert.Equal(PacketError.None, Packet.TryParse(initial, out var p));
            Assert.Equal((PacketType.Initial, scid), (p.Type, p.SourceId));
            Assert.Equal(token, p.Token.ToArray());

            var retry = new byte[Packet.HeaderSize + 2 + token.Length + Packet.TrailerSize];
            Packet.WriteRetry(retry, scid, token);
            Assert.Equal(PacketError.None, Packet.TryParse(retry, out p));
            Assert.Equal((PacketType.Retry, scid), (p.Type, p.DestinationId));
            Assert.Equal(token, p.Token.ToArray());

            var data = UdpSeeds.Data(scid, pn, (ref SpanWriter w) => FrameCodec.TryWritePing(ref w));
            Assert.Equal(PacketError.None, Packet.TryParse(data, out p));
            Assert.Equal((PacketType.Data, scid, pn), (p.Type, p.DestinationId, p.PacketNumber));
        }
    }

    [Fact]
    public void Tcp_frames_round_trip()
    {
        var rng = new Random(103);
        var buffer = new byte[TcpWire.MaxControlPayload + 64];
        for (int i = 0; i < Cases; i++)
        {
            var op = rng.Next(2) == 0 ? TcpOperation.Get : TcpOperation.Put;
            long size = op == TcpOperation.Put ? rng.NextInt64(TcpWire.MaxFileSize) : 0;
            TcpFileVersion? version = rng.Next(2) == 0 ? new TcpFileVersion(rng.NextInt64(), rng.NextInt64()) : null;
            var open = new TcpOpenRequest(op, RandomText(rng, rng.Next(1, 300)), (uint)rng.Next(1, 64), size, version);
            int n = open.Write(buffer);
            Assert.Equal(TcpDecodeStatus.Ok, TcpFrameHeader.TryRead(buffer, TcpConnectionKind.Control, fromClient: true, out var h));
            Assert.Equal(n, TcpWire.FrameHeaderLength + h.Length);
            Assert.Equal(TcpDecodeStatus.Ok, TcpOpenRequest.TryRead(buffer.AsSpan(TcpWire.FrameHeaderLength, h.Length), out var openBack));
            Assert.Equal(open, openBack);

            long fileSize = rng.NextInt64(1L << 40) + 1;
            var present = RandomRanges(rng, fileSize, rng.Next(0, 200));
            var accept = new TcpAcceptReply(new TcpSessionId((ulong)rng.NextInt64(), (ulong)rng.NextInt64()), 1 << rng.Next(12, 27), (uint)rng.Next(1, 64), fileSize,
                new TcpFileVersion(rng.NextInt64(), rng.NextInt64()), present);
            n = accept.Write(buffer);
            Assert.Equal(TcpDecodeStatus.Ok, TcpFrameHeader.TryRead(buffer, TcpConnectionKind.Control, fromClient: false, out h));
            Assert.Equal(TcpDecodeStatus.Ok, TcpAcceptReply.TryRead(buffer.AsSpan(TcpWire.FrameHeaderLength, h.Length), out var acceptBack));
            Assert.Equal((accept.SessionId, accept.BlockSize, accept.GrantedStreams, accept.FileSize, accept.Version), (acceptBack!.SessionId, acceptBack.BlockSize, acceptBack.GrantedStreams, acceptBack.FileSize, acceptBack.Version));
            Assert.Equal(present.ToString(), acceptBack.Present.ToString());

            n = TcpSmallFrames.WriteHave(buffer, present);
            Assert.Equal(TcpDecodeStatus.Ok, TcpRangeList.TryRead(buffer.AsSpan(TcpWire.FrameHeaderLength, n - TcpWire.FrameHeaderLength), fileSize, out var haveBack));
            Assert.Equal(present.ToString(), haveBack.ToString());

            var error = new TcpErrorFrame((TcpErrorCode)rng.Next(1, 42), RandomText(rng, rng.Next(0, 300)));
            n = error.Write(buffer);
            Assert.Equal(TcpDecodeStatus.Ok, TcpErrorFrame.TryRead(buffer.AsSpan(TcpWire.FrameHeaderLength, n - TcpWire.FrameHeaderLength), out var errorBack));
            Assert.Equal(error, errorBack);

            var session = new TcpSessionId((ulong)rng.NextInt64(), (ulong)rng.NextInt64());
            uint stream = (uint)rng.Next();
            TcpSmallFrames.WriteJoin(buffer, session, stream);
            Assert.Equal(TcpDecodeStatus.Ok, TcpSmallFrames.TryReadJoin(buffer.AsSpan(5, 20), out var sessionBack, out uint streamBack));
            Assert.Equal((session, stream), (sessionBack, streamBack));
            TcpSmallFrames.WriteJoined(buffer, stream);
            Assert.Equal(TcpDecodeStatus.Ok, TcpSmallFrames.TryReadJoined(buffer.AsSpan(5, 4), out streamBack));
            Assert.Equal(stream, streamBack);
            long offset = rng.NextInt64(1L << 50);
            int length = rng.Next(1, TcpWire.MaxBlockSize);
            TcpSmallFrames.WriteAck(buffer, offset, length);
            Assert.Equal(TcpDecodeStatus.Ok, TcpSmallFrames.TryReadAck(buffer.AsSpan(5, 12), out long offsetBack, out int lengthBack));
            Assert.Equal((offset, length), (offsetBack, lengthBack));
            TcpSmallFrames.WriteDataHeader(buffer, offset, length);
            Assert.Equal(offset, TcpSmallFrames.ReadDataOffset(buffer.AsSpan(5)));
        }
    }

    [Fact]
    public void Tftp_packets_round_trip()
    {
        var rng = new Random(104);
        var buffer = new byte[TftpLimits.MaxPacketLength];
        for (int i = 0; i < Cases; i++)
        {
            var opcode = rng.Next(2) == 0 ? TftpOpcode.Rrq : TftpOpcode.Wrq;
            var mode = rng.Next(2) == 0 ? TftpMode.Octet : TftpMode.NetAscii;
            string name = RandomText(rng, rng.Next(1, 100)).Replace('\0', 'x');
            var options = Enumerable.Range(0, rng.Next(0, TftpLimits.MaxOptions + 1))
                .Select(k => new TftpOption("opt" + k, rng.NextInt64(1L << 40).ToString(System.Globalization.CultureInfo.InvariantCulture))).ToList();
            int n = TftpPacketWriter.WriteRequest(buffer, opcode, name, mode, options);
            Assert.Equal(TftpParseError.None, TftpPacketReader.ReadRequest(buffer.AsSpan(0, n), out var request));
            Assert.Equal((opcode, name, mode), (request!.Opcode, request.FileName, request.Mode));
            Assert.Equal(options, request.Options);

            n = TftpPacketWriter.WriteOack(buffer, options);
            Assert.Equal(TftpParseError.None, TftpPacketReader.ReadOack(buffer.AsSpan(0, n), out var oack));
            Assert.Equal(options, oack);

            ushort block = (ushort)rng.Next(65536);
            var payload = new byte[rng.Next(0, 1500)];
            rng.NextBytes(payload);
            n = TftpPacketWriter.WriteData(buffer, block, payload);
            Assert.True(TftpPacketReader.TryReadData(buffer.AsSpan(0, n), out ushort blockBack, out var payloadBack));
            Assert.Equal(block, blockBack);
            Assert.Equal(payload, payloadBack.ToArray());
            n = TftpPacketWriter.WriteAck(buffer, block);
            Assert.True(TftpPacketReader.TryReadAck(buffer.AsSpan(0, n), out blockBack));
            Assert.Equal(block, blockBack);

            var code = (TftpErrorCode)rng.Next(0, 9);
            string message = new(Enumerable.Range(0, rng.Next(0, TftpLimits.MaxErrorMessageChars)).Select(_ => (char)rng.Next(0x20, 0x7F)).ToArray());
            n = TftpPacketWriter.WriteError(buffer, code, message);
            Assert.True(TftpPacketReader.TryReadError(buffer.AsSpan(0, n), out var codeBack, out string messageBack));
            Assert.Equal((code, message), (codeBack, messageBack));
        }
    }

    [Fact]
    public void Relay_datagrams_round_trip()
    {
        var rng = new Random(105);
        var b = new byte[RelayWire.MaxDatagram];
        var lines = new List<string>();
        var messages = new List<RelayMessage>();
        var ackRanges = new List<ByteRange>();
        for (int i = 0; i < Cases; i++)
        {
            ulong session = (ulong)rng.NextInt64(1, long.MaxValue);
            var reg = new RelayRegistration
            {
                ClientId = (ulong)rng.NextInt64(), Name = RandomText(rng, rng.Next(1, 10)), Read = rng.Next(2) == 0, Write = rng.Next(2) == 0,
                Token = RandomBytes(rng, rng.Next(0, RelayWire.MaxTokenBytes + 1)), SinceKind = (RelaySinceKind)rng.Next(0, 3),
                SinceValue = rng.NextInt64(), DelayMillis = (uint)rng.Next(), WriterNext = rng.NextInt64(long.MaxValue / 2),
            };
            int n = RelayCodec.WriteRegister(b, reg);
            Assert.Equal(RelayDatagramStatus.Ok, RelayWire.TryOpen(b.AsSpan(0, n), out var type, out _, out var body));
            Assert.Equal(RelayPacketType.Register, type);
            Assert.True(RelayCodec.TryReadRegister(body, out var regBack));
            Assert.Equal((reg.ClientId, reg.Name, reg.Read, reg.Write, reg.SinceKind, reg.SinceValue, reg.DelayMillis, reg.WriterNext),
                (regBack!.ClientId, regBack.Name, regBack.Read, regBack.Write, regBack.SinceKind, regBack.SinceValue, regBack.DelayMillis, regBack.WriterNext));
            Assert.Equal(reg.Token, regBack.Token);

            long first = rng.NextInt64(1, long.MaxValue / 4);
            var sent = Enumerable.Range(0, rng.Next(1, 5)).Select(_ => RandomText(rng, rng.Next(0, 60))).ToList();
            int pos = RelayCodec.BeginPost(b, session, first);
            foreach (var line in sent)
            {
                Assert.True(RelayCodec.TryAppendPostLine(b, ref pos, Encoding.UTF8.GetBytes(line)));
            }

            n = RelayCodec.FinishPost(b, pos, sent.Count);
            Assert.Equal(RelayDatagramStatus.Ok, RelayWire.TryOpen(b.AsSpan(0, n), out _, out ulong sessionBack, out body));
            Assert.Equal(session, sessionBack);
            Assert.True(RelayCodec.TryReadPost(body, out long firstBack, lines));
            Assert.Equal(first, firstBack);
            Assert.Equal(sent, lines);

            var delivered = sent.Select((t, k) => new RelayMessage(first + k, rng.NextInt64(1L << 45), RandomText(rng, rng.Next(0, 10)), t)).ToList();
            pos = RelayCodec.BeginDeliver(b, session, first, 0);
            foreach (var m in delivered)
            {
                var e = RelayCodec.EncodeEntry(m);
                e.CopyTo(b.AsSpan(pos));
                pos += e.Length;
            }

            n = RelayCodec.FinishDeliver(b, pos, delivered.Count);
            Assert.Equal(RelayDatagramStatus.Ok, RelayWire.TryOpen(b.AsSpan(0, n), out _, out _, out body));
            Assert.True(RelayCodec.TryReadDeliver(body, out firstBack, out bool pruned, out int count, messages));
            Assert.False(pruned);
            Assert.Equal(delivered.Select(m => m.ToString() + m.TimestampMs), messages.Select(m => m.ToString() + m.TimestampMs));

            long next = rng.NextInt64(1L << 40);
            var above = RandomRanges(rng, long.MaxValue / 4, rng.Next(0, RelayWire.MaxAckRanges + 1), floor: next + 1);
            uint window = (uint)rng.Next();
            n = RelayCodec.WriteAck(b, session, next, window, above);
            Assert.Equal(RelayDatagramStatus.Ok, RelayWire.TryOpen(b.AsSpan(0, n), out _, out _, out body));
            Assert.True(RelayCodec.TryReadAck(body, out long nextBack, out uint windowBack, ackRanges));
            Assert.Equal((next, window), (nextBack, windowBack));
            Assert.Equal(above.ToString(), string.Join(",", ackRanges));

            n = RelayCodec.WriteU64(b, RelayPacketType.PostAck, session, next);
            Assert.Equal(RelayDatagramStatus.Ok, RelayWire.TryOpen(b.AsSpan(0, n), out _, out _, out body));
            Assert.True(RelayCodec.TryReadU64(body, out nextBack));
            Assert.Equal(next, nextBack);

            string reason = RandomText(rng, rng.Next(0, 60));
            n = RelayCodec.WriteRefused(b, reg.ClientId, RelayRefusal.NameInUse, reason);
            Assert.Equal(RelayDatagramStatus.Ok, RelayWire.TryOpen(b.AsSpan(0, n), out _, out _, out body));
            Assert.True(RelayCodec.TryReadRefused(body, out ulong clientBack, out var refusal, out string reasonBack));
            Assert.Equal((reg.ClientId, RelayRefusal.NameInUse, reason), (clientBack, refusal, reasonBack));
        }
    }

    [Fact]
    public void Zmq_requests_round_trip_through_the_parser()
    {
        var rng = new Random(106);
        for (int i = 0; i < Cases; i++)
        {
            long value = rng.NextInt64(long.MaxValue);
            Assert.True(ZmqRequestParser.TryParseNumber(Encoding.ASCII.GetBytes(value.ToString(System.Globalization.CultureInfo.InvariantCulture)), out long back));
            Assert.Equal(value, back);

            string name = RandomText(rng, rng.Next(1, 100));
            var data = RandomBytes(rng, rng.Next(0, 2000));
            long offset = rng.NextInt64(1L << 40);
            ReadOnlyMemory<byte>[] frames =
            [
                "CHUNK"u8.ToArray(), Encoding.UTF8.GetBytes(name), Encoding.ASCII.GetBytes(offset.ToString(System.Globalization.CultureInfo.InvariantCulture)),
                Encoding.ASCII.GetBytes(data.Length.ToString(System.Globalization.CultureInfo.InvariantCulture)),
                Encoding.ASCII.GetBytes(Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(data))), data,
            ];
            var parsed = ZmqRequestParser.Parse(frames, frames.Length);
            Assert.True(parsed.IsValid, parsed.Error);
            Assert.Equal((ZmqVerb.Chunk, name, offset, (long)data.Length), (parsed.Request.Verb, parsed.Request.FileName, parsed.Request.Offset, parsed.Request.Size));
            Assert.Equal(Sha256Digest.Of(data), parsed.Request.Checksum);
            Assert.Equal(data, parsed.Request.Data.ToArray());
        }
    }

    private static ulong RandomVarInt(Random rng) => rng.Next(4) switch
    {
        0 => (ulong)rng.Next(64),
        1 => (ulong)rng.Next(1 << 14),
        2 => (ulong)rng.Next(1 << 30),
        _ => (ulong)rng.NextInt64((long)VarInt.MaxValue) + 1,
    };

    private static string RandomText(Random rng, int chars)
    {
        // Mixed ASCII, Latin, CJK and astral characters (surrogate pairs), never a lone surrogate.
        var sb = new StringBuilder();
        while (sb.Length < chars)
        {
            switch (rng.Next(6))
            {
                case 0:
                    sb.Append((char)rng.Next(0xE0, 0x100));
                    break;
                case 1:
                    sb.Append((char)rng.Next(0x4E00, 0x9FFF));
                    break;
                case 2:
                    sb.Append(char.ConvertFromUtf32(rng.Next(0x1F300, 0x1F600)));
                    break;
                default:
                    sb.Append((char)rng.Next('a', 'z' + 1));
                    break;
            }
        }

        return sb.ToString();
    }

    private static byte[] RandomBytes(Random rng, int length)
    {
        var b = new byte[length];
        rng.NextBytes(b);
        return b;
    }

    private static RangeSet RandomRanges(Random rng, long limit, int count, long floor = 0)
    {
        var set = new RangeSet();
        long pos = floor;
        for (int k = 0; k < count; k++)
        {
            long start = pos + rng.Next(1, 1000);
            long end = start + rng.Next(1, 1000);
            if (end > limit)
            {
                break;
            }

            set.Add(start, end);
            pos = end;
        }

        return set;
    }
}
