using System.Buffers.Binary;
using Ferry.Protocol.Common;

namespace Ferry.Protocol.Tcp;

/// <summary>
/// ACCEPT: the server's answer to OPEN. <see cref="Present"/> lists, for PUT, the ranges the server already
/// holds from an interrupted upload of the same file version (the client sends only the rest); empty for GET.
/// <see cref="RateLimit"/> ends the payload (u64 bit/s) when the OPEN carried a rate limit: the limit in force.
/// </summary>
public sealed record TcpAcceptReply(TcpSessionId SessionId, int BlockSize, uint GrantedStreams, long FileSize, TcpFileVersion Version, RangeSet Present)
{
    /// <summary>The rate limit in force, bit/s (0: none); null: no field (the OPEN carried none, or an older server).</summary>
    public long? RateLimit { get; init; }

    /// <summary>Length of the whole frame (header included).</summary>
    public int FrameLength => TcpWire.FrameHeaderLength + TcpWire.AcceptFixedLength - 4 + TcpRangeList.EncodedLength(Present) + (RateLimit.HasValue ? 8 : 0);

    /// <summary>Writes the whole frame.</summary>
    public int Write(Span<byte> destination)
    {
        int payload = FrameLength - TcpWire.FrameHeaderLength;
        TcpFrameHeader.Write(destination, TcpFrameType.Accept, payload);
        var p = destination.Slice(TcpWire.FrameHeaderLength, payload);
        SessionId.Write(p);
        BinaryPrimitives.WriteUInt32BigEndian(p[16..], (uint)BlockSize);
        BinaryPrimitives.WriteUInt32BigEndian(p[20..], GrantedStreams);
        BinaryPrimitives.WriteInt64BigEndian(p[24..], FileSize);
        BinaryPrimitives.WriteInt64BigEndian(p[32..], Version.Size);
        BinaryPrimitives.WriteInt64BigEndian(p[40..], Version.MtimeUnixMs);
        int end = 48 + TcpRangeList.Write(p[48..], Present);
        if (RateLimit is { } rate)
        {
            BinaryPrimitives.WriteInt64BigEndian(p[end..], Math.Clamp(rate, 0, TcpWire.MaxRateLimit));
        }

        return TcpWire.FrameHeaderLength + payload;
    }

    /// <summary>Parses an ACCEPT payload (header already validated) of an OPEN without a rate limit.</summary>
    public static TcpDecodeStatus TryRead(ReadOnlySpan<byte> payload, out TcpAcceptReply? reply) => TryRead(payload, withRateLimit: false, out reply);

    /// <summary>
    /// Parses an ACCEPT payload (header already validated); <paramref name="withRateLimit"/>: the OPEN carried a rate
    /// limit, so the payload may end with the limit in force (a server older than the field sends none).
    /// </summary>
    public static TcpDecodeStatus TryRead(ReadOnlySpan<byte> payload, bool withRateLimit, out TcpAcceptReply? reply)
    {
        reply = null;
        if (payload.Length < TcpWire.AcceptFixedLength)
        {
            return TcpDecodeStatus.BadLength;
        }

        var id = TcpSessionId.Read(payload);
        uint blockSize = BinaryPrimitives.ReadUInt32BigEndian(payload[16..]);
        uint streams = BinaryPrimitives.ReadUInt32BigEndian(payload[20..]);
        long size = BinaryPrimitives.ReadInt64BigEndian(payload[24..]);
        var version = new TcpFileVersion(BinaryPrimitives.ReadInt64BigEndian(payload[32..]), BinaryPrimitives.ReadInt64BigEndian(payload[40..]));
        if (!TcpWire.IsValidBlockSize(blockSize) || streams == 0 || size < 0 || size > TcpWire.MaxFileSize)
        {
            return TcpDecodeStatus.Malformed;
        }

        // The range count says where the list ends: 8 bytes more are the rate limit.
        long rangesEnd = 48 + 4 + (16 * (long)BinaryPrimitives.ReadUInt32BigEndian(payload[48..]));
        long? rate = null;
        if (withRateLimit && payload.Length == rangesEnd + 8)
        {
            rate = BinaryPrimitives.ReadInt64BigEndian(payload[(int)rangesEnd..]);
            if (rate is < 0 or > TcpWire.MaxRateLimit)
            {
                return TcpDecodeStatus.Malformed;
            }

            payload = payload[..(int)rangesEnd];
        }

        var status = TcpRangeList.TryRead(payload[48..], size, out var present);
        if (status != TcpDecodeStatus.Ok)
        {
            return status;
        }

        reply = new TcpAcceptReply(id, (int)blockSize, streams, size, version, present) { RateLimit = rate };
        return TcpDecodeStatus.Ok;
    }
}
