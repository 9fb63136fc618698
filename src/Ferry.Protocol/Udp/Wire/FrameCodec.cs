using Ferry.Protocol.Common;

namespace Ferry.Protocol.Udp.Wire;

/// <summary>Encodes and decodes frames. Decoding bounds every length and count before use and never throws.</summary>
public static class FrameCodec
{
    public const int MaxPathBytes = 4096;
    public const int MaxMessageBytes = 1024;
    public const int MaxAckRanges = 256;
    public const int MaxHaveRanges = 64;
    public const int Sha256Length = 32;
    public const long MaxFileSize = 1L << 60;
    public const int MaxTokenBytes = 256;
    public const int MaxHelloBytes = 1024;
    public const int UploadKeyLength = 16;

    /// <summary>Largest FILE_MODE value: the permission bits rwxrwxrwx (never setuid, setgid or sticky).</summary>
    public const int MaxFileMode = 0x1FF;

    /// <summary>Largest RATE_LIMIT rate, in bit/s (2^43, about 8.8 Tbit/s); a larger value makes the frame malformed.</summary>
    public const long MaxRateLimit = 1L << 43;

    /// <summary>Largest RATE_LIMIT sequence number (2^32 - 1).</summary>
    public const long MaxRateSequence = uint.MaxValue;

    /// <summary>Decodes the next frame. Returns false on a malformed or truncated frame (a protocol violation).</summary>
    public static bool TryRead(ref SpanReader r, Span<AckRange> ackScratch, out Frame frame)
    {
        frame = default;
        if (!r.TryReadByte(out byte t))
        {
            return false;
        }

        frame.Type = (FrameType)t;
        switch (frame.Type)
        {
            case FrameType.Padding:
                // Padding runs to the end of the packet: one frame covers all of it, and nothing but zero bytes follows.
                while (r.TryReadByte(out byte zero))
                {
                    if (zero != 0)
                    {
                        return false;
                    }
                }

                return true;
            case FrameType.Ping:
                return true;
            case FrameType.Ack:
                {
                bool ok = ReadAck(ref r, ackScratch, out frame.LargestAcked, out frame.AckDelayMicros, out frame.AckRangeCount);
                return ok;
            }
            case FrameType.Data:
            {
                if (!r.TryReadVarInt((ulong)MaxFileSize, out frame.Offset)
                    || !r.TryReadVarInt((ulong)r.Remaining, out frame.Length)
                    || !r.TryReadBytes((int)frame.Length, out frame.Data))
                {
                    return false;
                }

                return frame.Offset + frame.Length <= MaxFileSize;
            }

            case FrameType.MaxData:
                return r.TryReadVarInt((ulong)MaxFileSize, out frame.Offset);
            case FrameType.Request:
            {
                // An unknown op, a max datagram out of range and a path or token that is not UTF-8 still decode (the
                // path and token as null): the server refuses them with a CLOSE that says why, instead of dropping them.
                if (!r.TryReadByte(out byte op)
                    || !r.TryReadVarInt(out ulong md)
                    || !r.TryReadStringOrInvalid(MaxPathBytes, out string? path)
                    || !r.TryReadVarInt((ulong)MaxFileSize, out frame.Size)
                    || !r.TryReadVarInt((ulong)MaxFileSize, out frame.IdentitySize)
                    || !r.TryReadVarInt(long.MaxValue, out frame.IdentityMtime)
                    || !r.TryReadStringOrInvalid(MaxTokenBytes, out string? token))
                {
                    return false;
                }

                frame.Op = (TransferOp)op;
                frame.MaxDatagram = (int)Math.Min(md, int.MaxValue);
                frame.Text = path!;
                frame.Token = token!;
                return true;
            }

            case FrameType.Hello:
            case FrameType.ServerHello:
                return r.TryReadVarInt(MaxHelloBytes, out long helloLength) && helloLength > 0 && r.TryReadBytes((int)helloLength, out frame.Data);
            case FrameType.Accept:
            {
                if (!r.TryReadUInt64(out frame.ConnectionId)
                    || !r.TryReadVarInt(Packet.MaxMaxDatagram, out long md)
                    || !r.TryReadVarInt((ulong)MaxFileSize, out frame.Size)
                    || !r.TryReadVarInt(long.MaxValue, out frame.IdentityMtime))
                {
                    return false;
                }

                frame.MaxDatagram = (int)md;
                frame.IdentitySize = frame.Size;
                return true;
            }

            case FrameType.Have:
            {
                // Flags other than bit 0 are reserved (0); ranges are non-empty, in increasing order, not overlapping.
                if (!r.TryReadByte(out byte flags) || (flags & ~1) != 0 || !r.TryReadVarInt(MaxHaveRanges, out long count))
                {
                    return false;
                }

                frame.HaveComplete = (flags & 1) != 0;
                frame.AckRangeCount = (int)count;
                int start = r.Position;
                var copy = r;
                long previousEnd = 0;
                for (int i = 0; i < count; i++)
                {
                    if (!r.TryReadVarInt((ulong)MaxFileSize, out long rangeStart) || !r.TryReadVarInt((ulong)MaxFileSize, out long rangeLength)
                        || rangeLength == 0 || rangeStart < previousEnd || rangeStart + rangeLength > MaxFileSize)
                    {
                        return false;
                    }

                    previousEnd = rangeStart + rangeLength;
                }

                return copy.TryReadBytes(r.Position - start, out frame.Data);
            }

            case FrameType.UploadKey:
                return r.TryReadBytes(UploadKeyLength, out frame.Data);
            case FrameType.FileMode:
                return r.TryReadVarInt(MaxFileMode, out frame.Code);
            case FrameType.Stream:
                return r.TryReadVarInt((ulong)ControlStream.MaxOffset, out frame.Offset)
                    && r.TryReadVarInt((ulong)r.Remaining, out frame.Length)
                    && r.TryReadBytes((int)frame.Length, out frame.Data)
                    && frame.Offset + frame.Length <= ControlStream.MaxOffset;
            case FrameType.RateLimit:
                return r.TryReadVarInt(MaxRateSequence, out frame.Code) && r.TryReadVarInt(MaxRateLimit, out frame.Rate);
            case FrameType.DataFin:
                return r.TryReadVarInt((ulong)MaxFileSize, out frame.Length) && r.TryReadBytes(Sha256Length, out frame.Data);
            case FrameType.Result:
            case FrameType.Close:
                return r.TryReadVarInt(0xFFFF, out frame.Code) && r.TryReadString(MaxMessageBytes, out frame.Text);
            default:
                return false;
        }
    }

    /// <summary>
    /// Decodes the (start, length) pairs of a HAVE frame into <paramref name="into"/>. False when a range ends past
    /// <paramref name="limit"/> (the file's size: a protocol violation) or the frame is not a decoded HAVE.
    /// </summary>
    public static bool ReadHaveRanges(in Frame frame, Common.RangeSet into, long limit)
    {
        var r = new SpanReader(frame.Data);
        for (int i = 0; i < frame.AckRangeCount; i++)
        {
            if (!r.TryReadVarInt((ulong)MaxFileSize, out long start) || !r.TryReadVarInt((ulong)MaxFileSize, out long length))
            {
                return false;
            }

            if (start + length > limit)
            {
                return false;
            }

            into.Add(start, start + length);
        }

        return true;
    }

    private static bool ReadAck(ref SpanReader r, Span<AckRange> scratch, out ulong largestAcked, out ulong delayMicros, out int rangeCount)
    {
        rangeCount = 0;
        bool ok = r.TryReadVarInt(out largestAcked);
        ok &= r.TryReadVarInt(out delayMicros);
        if (!ok
            || !r.TryReadVarInt(MaxAckRanges, out long count)
            || !r.TryReadVarInt(out ulong first)
            || first > largestAcked)
        {
            return false;
        }

        ulong largest = largestAcked;
        ulong smallest = largest - first;
        int n = 0;
        if (n < scratch.Length)
        {
            scratch[n++] = new AckRange(smallest, largest);
        }

        for (long i = 0; i < count; i++)
        {
            // Gap and length as in RFC 9000 19.3.1: the next range ends gap+2 below the previous smallest.
            if (!r.TryReadVarInt(out ulong gap) || !r.TryReadVarInt(out ulong len))
            {
                return false;
            }

            if (smallest < gap + 2)
            {
                return false;
            }

            largest = smallest - gap - 2;
            if (len > largest)
            {
                return false;
            }

            smallest = largest - len;
            if (n < scratch.Length)
            {
                scratch[n++] = new AckRange(smallest, largest);
            }
        }

        rangeCount = n;
        return true;
    }

    // ----- writers: each returns false when the frame does not fit, writing nothing -----

    public static int AckSize(ReadOnlySpan<AckRange> ranges, ulong delayMicros)
    {
        int size = 1 + VarInt.SizeOf(ranges[0].Largest) + VarInt.SizeOf(delayMicros) + VarInt.SizeOf((ulong)(ranges.Length - 1))
            + VarInt.SizeOf(ranges[0].Largest - ranges[0].Smallest);
        for (int i = 1; i < ranges.Length; i++)
        {
            size += VarInt.SizeOf(ranges[i - 1].Smallest - ranges[i].Largest - 2) + VarInt.SizeOf(ranges[i].Largest - ranges[i].Smallest);
        }

        return size;
    }

    /// <summary>Writes an ACK of <paramref name="ranges"/> (disjoint, highest first, not adjacent).</summary>
    public static bool TryWriteAck(ref SpanWriter w, ReadOnlySpan<AckRange> ranges, ulong delayMicros)
    {
        if (ranges.IsEmpty || AckSize(ranges, delayMicros) > w.Remaining)
        {
            return false;
        }

        w.WriteByte((byte)FrameType.Ack);
        w.WriteVarInt(ranges[0].Largest);
        w.WriteVarInt(delayMicros);
        w.WriteVarInt((ulong)(ranges.Length - 1));
        w.WriteVarInt(ranges[0].Largest - ranges[0].Smallest);
        for (int i = 1; i < ranges.Length; i++)
        {
            w.WriteVarInt(ranges[i - 1].Smallest - ranges[i].Largest - 2);
            w.WriteVarInt(ranges[i].Largest - ranges[i].Smallest);
        }

        return true;
    }

    /// <summary>Bytes of DATA frame overhead for a frame at <paramref name="offset"/> with up to <paramref name="maxLength"/> bytes.</summary>
    public static int DataOverhead(long offset, int maxLength) => 1 + VarInt.SizeOf((ulong)offset) + VarInt.SizeOf((ulong)maxLength);

    /// <summary>Writes a DATA frame header; the caller then writes exactly <paramref name="length"/> bytes into w.Free.</summary>
    public static void WriteDataHeader(ref SpanWriter w, long offset, int length)
    {
        w.WriteByte((byte)FrameType.Data);
        w.WriteVarInt((ulong)offset);
        w.WriteVarInt((ulong)length);
    }

    /// <summary>Bytes of STREAM frame overhead for a frame at an offset up to <paramref name="offset"/> with up to <paramref name="maxLength"/> bytes.</summary>
    public static int StreamOverhead(long offset, int maxLength) => 1 + VarInt.SizeOf((ulong)offset) + VarInt.SizeOf((ulong)Math.Max(0, maxLength));

    /// <summary>Writes a STREAM frame header; the caller then writes exactly <paramref name="length"/> bytes into w.Free.</summary>
    public static void WriteStreamHeader(ref SpanWriter w, long offset, int length)
    {
        w.WriteByte((byte)FrameType.Stream);
        w.WriteVarInt((ulong)offset);
        w.WriteVarInt((ulong)length);
    }

    public static bool TryWritePing(ref SpanWriter w)
    {
        if (w.Remaining < 1)
        {
            return false;
        }

        w.WriteByte((byte)FrameType.Ping);
        return true;
    }

    public static bool TryWriteMaxData(ref SpanWriter w, long maxOffset)
    {
        if (w.Remaining < 1 + VarInt.SizeOf((ulong)maxOffset))
        {
            return false;
        }

        w.WriteByte((byte)FrameType.MaxData);
        w.WriteVarInt((ulong)maxOffset);
        return true;
    }

    /// <summary>Bytes of a REQUEST frame with these fields.</summary>
    public static int RequestSize(int maxDatagram, string path, long size, long identitySize, long identityMtime, string token) =>
        2 + VarInt.SizeOf((ulong)maxDatagram) + SpanWriter.StringSize(path) + VarInt.SizeOf((ulong)size)
        + VarInt.SizeOf((ulong)identitySize) + VarInt.SizeOf((ulong)identityMtime) + SpanWriter.StringSize(token);

    public static bool TryWriteRequest(ref SpanWriter w, TransferOp op, int maxDatagram, string path, long size, long identitySize, long identityMtime, string token)
    {
        int need = RequestSize(maxDatagram, path, size, identitySize, identityMtime, token);
        if (w.Remaining < need)
        {
            return false;
        }

        w.WriteByte((byte)FrameType.Request);
        w.WriteByte((byte)op);
        w.WriteVarInt((ulong)maxDatagram);
        w.WriteString(path);
        w.WriteVarInt((ulong)size);
        w.WriteVarInt((ulong)identitySize);
        w.WriteVarInt((ulong)identityMtime);
        w.WriteString(token);
        return true;
    }

    /// <summary>An UPLOAD_KEY frame: type, the 16-byte key.</summary>
    public static bool TryWriteUploadKey(ref SpanWriter w, ReadOnlySpan<byte> key)
    {
        if (key.Length != UploadKeyLength || w.Remaining < 1 + UploadKeyLength)
        {
            return false;
        }

        w.WriteByte((byte)FrameType.UploadKey);
        w.WriteBytes(key);
        return true;
    }

    /// <summary>A FILE_MODE frame: type, varint permission bits (0..<see cref="MaxFileMode"/>).</summary>
    public static bool TryWriteFileMode(ref SpanWriter w, int mode)
    {
        if (mode is < 0 or > MaxFileMode || w.Remaining < 1 + VarInt.SizeOf((ulong)mode))
        {
            return false;
        }

        w.WriteByte((byte)FrameType.FileMode);
        w.WriteVarInt((ulong)mode);
        return true;
    }

    /// <summary>A RATE_LIMIT frame: type, varint sequence number, varint rate in bit/s (0: none).</summary>
    public static bool TryWriteRateLimit(ref SpanWriter w, long sequence, long bitsPerSecond)
    {
        if (sequence is < 0 or > MaxRateSequence || bitsPerSecond is < 0 or > MaxRateLimit
            || w.Remaining < 1 + VarInt.SizeOf((ulong)sequence) + VarInt.SizeOf((ulong)bitsPerSecond))
        {
            return false;
        }

        w.WriteByte((byte)FrameType.RateLimit);
        w.WriteVarInt((ulong)sequence);
        w.WriteVarInt((ulong)bitsPerSecond);
        return true;
    }

    /// <summary>A HELLO or SERVER_HELLO frame: type, varint length, the hello message.</summary>
    public static bool TryWriteHello(ref SpanWriter w, FrameType type, ReadOnlySpan<byte> hello)
    {
        if (w.Remaining < 1 + VarInt.SizeOf((ulong)hello.Length) + hello.Length)
        {
            return false;
        }

        w.WriteByte((byte)type);
        w.WriteVarInt((ulong)hello.Length);
        w.WriteBytes(hello);
        return true;
    }

    public static bool TryWriteAccept(ref SpanWriter w, ulong serverId, int maxDatagram, long fileSize, long identityMtime)
    {
        int need = 9 + VarInt.SizeOf((ulong)maxDatagram) + VarInt.SizeOf((ulong)fileSize) + VarInt.SizeOf((ulong)identityMtime);
        if (w.Remaining < need)
        {
            return false;
        }

        w.WriteByte((byte)FrameType.Accept);
        w.WriteUInt64(serverId);
        w.WriteVarInt((ulong)maxDatagram);
        w.WriteVarInt((ulong)fileSize);
        w.WriteVarInt((ulong)identityMtime);
        return true;
    }

    /// <summary>Writes a HAVE frame with the first <see cref="MaxHaveRanges"/> ranges of <paramref name="have"/> that fit.</summary>
    public static bool TryWriteHave(ref SpanWriter w, ReadOnlySpan<(long Start, long Length)> have, bool complete)
    {
        int need = 2 + VarInt.SizeOf((ulong)have.Length);
        foreach (var (s, l) in have)
        {
            need += VarInt.SizeOf((ulong)s) + VarInt.SizeOf((ulong)l);
        }

        if (have.Length > MaxHaveRanges || w.Remaining < need)
        {
            return false;
        }

        w.WriteByte((byte)FrameType.Have);
        w.WriteByte(complete ? (byte)1 : (byte)0);
        w.WriteVarInt((ulong)have.Length);
        foreach (var (s, l) in have)
        {
            w.WriteVarInt((ulong)s);
            w.WriteVarInt((ulong)l);
        }

        return true;
    }

    public static bool TryWriteDataFin(ref SpanWriter w, long size, ReadOnlySpan<byte> sha256)
    {
        if (w.Remaining < 1 + VarInt.SizeOf((ulong)size) + Sha256Length)
        {
            return false;
        }

        w.WriteByte((byte)FrameType.DataFin);
        w.WriteVarInt((ulong)size);
        w.WriteBytes(sha256);
        return true;
    }

    /// <summary>RESULT or CLOSE: a code and a message (truncated to <see cref="MaxMessageBytes"/> on a character boundary).</summary>
    public static bool TryWriteCodeMessage(ref SpanWriter w, FrameType type, long code, string message)
    {
        message = Truncate(message, MaxMessageBytes);
        if (w.Remaining < 1 + VarInt.SizeOf((ulong)code) + SpanWriter.StringSize(message))
        {
            return false;
        }

        w.WriteByte((byte)type);
        w.WriteVarInt((ulong)code);
        w.WriteString(message);
        return true;
    }

    private static string Truncate(string s, int maxBytes)
    {
        if (System.Text.Encoding.UTF8.GetByteCount(s) <= maxBytes)
        {
            return s;
        }

        int n = Math.Min(s.Length, maxBytes / 4);
        return s[..n];
    }
}
