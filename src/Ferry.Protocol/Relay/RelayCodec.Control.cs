using Ferry.Protocol.Common;

namespace Ferry.Protocol.Relay;

/// <summary>Encoders and decoders of every relay datagram body. Decoders return false on any malformed input.</summary>
public static partial class RelayCodec
{
    /// <summary>Encodes a whole REGISTER datagram; returns its length.</summary>
    public static int WriteRegister(Span<byte> buffer, RelayRegistration r)
    {
        RelayWire.WriteHeader(buffer, RelayPacketType.Register, 0);
        var w = new RelaySpanWriter(buffer, RelayWire.HeaderLength);
        w.U64(r.ClientId);
        w.U8((byte)((r.Read ? 1 : 0) | (r.Write ? 2 : 0)));
        w.String(1, r.Name);
        w.String(1, r.Room);
        w.U16((ushort)r.Token.Length);
        w.Bytes(r.Token);
        w.U8((byte)r.SinceKind);
        w.U64((ulong)r.SinceValue);
        w.U32(r.DelayMillis);
        w.U64((ulong)r.WriterNext);

        // Optional, appended in the batching revision: servers before it ignore trailing bytes, so an old server simply
        // keeps sending 1,200-byte DELIVERs.
        if (r.MaxDatagram > RelayWire.MaxDatagram)
        {
            w.U16((ushort)Math.Min(r.MaxDatagram, RelayWire.MaxLargeDatagram));
        }

        return RelayWire.Seal(buffer, w.Position);
    }

    public static bool TryReadRegister(ReadOnlySpan<byte> body, out RelayRegistration? registration)
    {
        registration = null;
        var r = new SpanReader(body);
        if (!r.TryReadUInt64(out ulong clientId) || !r.TryReadByte(out byte flags)
            || !r.TryReadPrefixedString(1, RelayWire.MaxNameBytes, out string name)
            || !r.TryReadPrefixedString(1, RelayWire.MaxNameBytes, out string room)
            || !r.TryReadUInt16(out ushort tokenLength) || tokenLength > RelayWire.MaxTokenBytes || !r.TryReadBytes(tokenLength, out var token)
            || !r.TryReadByte(out byte since) || since > (byte)RelaySinceKind.Time
            || !r.TryReadUInt64(out ulong sinceValue) || sinceValue > long.MaxValue
            || !r.TryReadUInt32(out uint delay)
            || !r.TryReadSeq(out long writerNext))
        {
            return false;
        }

        // Optional trailing field (absent from older clients); anything after it is ignored for later extensions.
        int maxDatagram = RelayWire.MaxDatagram;
        if (r.Remaining >= 2 && r.TryReadUInt16(out ushort md))
        {
            maxDatagram = Math.Clamp((int)md, RelayWire.MaxDatagram, RelayWire.MaxLargeDatagram);
        }

        registration = new RelayRegistration
        {
            ClientId = clientId,
            Read = (flags & 1) != 0,
            Write = (flags & 2) != 0,
            Name = name,
            Room = room,
            Token = token.ToArray(),
            SinceKind = (RelaySinceKind)since,
            SinceValue = (long)sinceValue,
            DelayMillis = delay,
            WriterNext = writerNext,
            MaxDatagram = maxDatagram,
        };
        return true;
    }

    public static int WriteRegistered(Span<byte> buffer, ulong session, RelayRegisteredInfo info)
    {
        RelayWire.WriteHeader(buffer, RelayPacketType.Registered, session);
        var w = new RelaySpanWriter(buffer, RelayWire.HeaderLength);
        w.U64(info.ClientId);
        w.U64((ulong)info.ReaderStart);
        w.U64((ulong)info.FirstSeq);
        w.U64((ulong)info.LastSeq);
        w.U16((ushort)info.MaxTextBytes);
        w.U32(info.IdleTimeoutMillis);
        w.U32(info.KeepaliveMillis);
        if (info.MaxDeliverDatagram > RelayWire.MaxDatagram)
        {
            // Optional trailing field, only for a reader that asked for large DELIVERs (older clients never do).
            w.U16((ushort)info.MaxDeliverDatagram);
        }

        return RelayWire.Seal(buffer, w.Position);
    }

    public static bool TryReadRegistered(ReadOnlySpan<byte> body, out RelayRegisteredInfo? info)
    {
        info = null;
        var r = new SpanReader(body);
        if (!r.TryReadUInt64(out ulong clientId) || !r.TryReadSeq(out long start) || !r.TryReadSeq(out long first) || !r.TryReadSeq(out long last)
            || !r.TryReadUInt16(out ushort maxText) || !r.TryReadUInt32(out uint idle) || !r.TryReadUInt32(out uint keepalive))
        {
            return false;
        }

        int maxDeliver = RelayWire.MaxDatagram;
        if (r.Remaining >= 2 && r.TryReadUInt16(out ushort md))
        {
            maxDeliver = Math.Clamp((int)md, RelayWire.MaxDatagram, RelayWire.MaxLargeDatagram);
        }

        info = new RelayRegisteredInfo
        {
            ClientId = clientId,
            ReaderStart = start,
            FirstSeq = first,
            LastSeq = last,
            MaxTextBytes = maxText,
            IdleTimeoutMillis = idle,
            KeepaliveMillis = keepalive,
            MaxDeliverDatagram = maxDeliver,
        };
        return true;
    }

    /// <summary>REFUSED: client id, reason byte, u16-prefixed UTF-8 text (truncated to <see cref="RelayWire.MaxReasonBytes"/> bytes by the caller).</summary>
    public static int WriteRefused(Span<byte> buffer, ulong clientId, RelayRefusal reason, string text)
    {
        RelayWire.WriteHeader(buffer, RelayPacketType.Refused, 0);
        var w = new RelaySpanWriter(buffer, RelayWire.HeaderLength);
        w.U64(clientId);
        w.U8((byte)reason);
        w.String(2, text);
        return RelayWire.Seal(buffer, w.Position);
    }

    public static bool TryReadRefused(ReadOnlySpan<byte> body, out ulong clientId, out RelayRefusal reason, out string text)
    {
        var r = new SpanReader(body);
        reason = default;
        text = string.Empty;
        if (!r.TryReadUInt64(out clientId) || !r.TryReadByte(out byte code) || !r.TryReadPrefixedString(2, RelayWire.MaxReasonBytes, out text))
        {
            return false;
        }

        reason = (RelayRefusal)code;
        return true;
    }

    /// <summary>A datagram whose body is empty (PING, BYE, UNKNOWN_SESSION).</summary>
    public static int WriteEmpty(Span<byte> buffer, RelayPacketType type, ulong session)
    {
        RelayWire.WriteHeader(buffer, type, session);
        return RelayWire.Seal(buffer, RelayWire.HeaderLength);
    }

    /// <summary>A datagram whose body is one u64 (POST_ACK: stored-below; PONG: last sequence).</summary>
    public static int WriteU64(Span<byte> buffer, RelayPacketType type, ulong session, long value)
    {
        RelayWire.WriteHeader(buffer, type, session);
        var w = new RelaySpanWriter(buffer, RelayWire.HeaderLength);
        w.U64((ulong)value);
        return RelayWire.Seal(buffer, w.Position);
    }

    public static bool TryReadU64(ReadOnlySpan<byte> body, out long value)
    {
        var r = new SpanReader(body);
        return r.TryReadSeq(out value) && r.Remaining == 0;
    }
}
