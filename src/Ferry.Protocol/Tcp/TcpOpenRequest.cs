using System.Buffers.Binary;
using System.Text;

namespace Ferry.Protocol.Tcp;

/// <summary>
/// OPEN: the first frame on a control connection. For PUT, <see cref="Size"/> and <see cref="Source"/>
/// describe the client's file (the version lets the server reuse a journal of the same file); for GET both are zero;
/// for LIST <see cref="Size"/> holds the listing flags (bit 0: recursive) and the path may be empty (the root).
/// <see cref="Token"/> follows the path (protocol version 2): the client's access token, or null for none.
/// <see cref="UploadKey"/> (PUT, flag bit 1) follows the token: the client's upload key, which lets a re-run take its
/// own interrupted upload over at once. <see cref="Mode"/> (PUT or MKDIR, flag bit 2) follows it: the permission bits
/// (u16, 0..0o777) the file or directory gets when committed. <see cref="RateLimit"/> (any operation, flag bit 3) ends
/// the payload: the rate limit the client asks for, u64 bit/s (0: none, but the server is to tell its own cap in ACCEPT).
/// </summary>
public readonly record struct TcpOpenRequest(TcpOperation Operation, string Path, uint RequestedStreams, long Size, TcpFileVersion? Source)
{
    private static readonly UTF8Encoding s_strictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>The access token (sent only inside TLS unless the client chose --insecure); null or empty: none.</summary>
    public string? Token { get; init; }

    /// <summary>PUT: the client's upload key (<see cref="TcpWire.UploadKeyLength"/> bytes), or null for none.</summary>
    public byte[]? UploadKey { get; init; }

    /// <summary>PUT, MKDIR: the permission bits (0..<see cref="TcpWire.MaxMode"/>) the result gets; null: the server's default.</summary>
    public int? Mode { get; init; }

    /// <summary>The rate limit asked for, bit/s (0: none); null: no field (and no rate limit in ACCEPT).</summary>
    public long? RateLimit { get; init; }

    private bool HasRateLimit => RateLimit is >= 0 and <= TcpWire.MaxRateLimit;

    private bool HasUploadKey => Operation == TcpOperation.Put && UploadKey?.Length == TcpWire.UploadKeyLength;

    private bool HasMode => Operation is TcpOperation.Put or TcpOperation.MakeDirectory && Mode is >= 0 and <= TcpWire.MaxMode;

    private int Extras => (HasUploadKey ? TcpWire.UploadKeyLength : 0) + (HasMode ? 2 : 0) + (HasRateLimit ? 8 : 0);

    /// <summary>Length of the whole frame (header included).</summary>
    public int FrameLength => TcpWire.FrameHeaderLength + TcpWire.OpenFixedLength + Encoding.UTF8.GetByteCount(Path) + 2 + Encoding.UTF8.GetByteCount(Token ?? string.Empty)
        + Extras;

    /// <summary>Writes the whole frame; the path must be 1..4096 UTF-8 bytes, the token at most 512.</summary>
    public int Write(Span<byte> destination)
    {
        int pathBytes = Encoding.UTF8.GetByteCount(Path);
        bool job = Operation is TcpOperation.JobPut or TcpOperation.JobGet;
        if ((pathBytes == 0 && Operation != TcpOperation.List && !job) || (pathBytes != 0 && job) || pathBytes > TcpWire.MaxPathBytes)
        {
            throw new ArgumentException($"path must be 1..{TcpWire.MaxPathBytes} UTF-8 bytes (LIST: 0..)", nameof(destination));
        }

        int tokenBytes = Encoding.UTF8.GetByteCount(Token ?? string.Empty);
        if (tokenBytes > TcpWire.MaxTokenBytes)
        {
            throw new ArgumentException($"token must be at most {TcpWire.MaxTokenBytes} UTF-8 bytes", nameof(destination));
        }

        int payload = TcpWire.OpenFixedLength + pathBytes + 2 + tokenBytes + Extras;
        TcpFrameHeader.Write(destination, TcpFrameType.Open, payload);
        var p = destination.Slice(TcpWire.FrameHeaderLength, payload);
        p[0] = (byte)Operation;
        p[1] = (byte)((Source.HasValue ? 1 : 0) | (HasUploadKey ? 2 : 0) | (HasMode ? 4 : 0) | (HasRateLimit ? 8 : 0));
        BinaryPrimitives.WriteUInt32BigEndian(p[2..], RequestedStreams);
        BinaryPrimitives.WriteInt64BigEndian(p[6..], Size);
        BinaryPrimitives.WriteInt64BigEndian(p[14..], Source?.Size ?? 0);
        BinaryPrimitives.WriteInt64BigEndian(p[22..], Source?.MtimeUnixMs ?? 0);
        BinaryPrimitives.WriteUInt16BigEndian(p[30..], (ushort)pathBytes);
        Encoding.UTF8.GetBytes(Path, p[TcpWire.OpenFixedLength..]);
        var token = p[(TcpWire.OpenFixedLength + pathBytes)..];
        BinaryPrimitives.WriteUInt16BigEndian(token, (ushort)tokenBytes);
        Encoding.UTF8.GetBytes(Token ?? string.Empty, token[2..]);
        if (HasUploadKey)
        {
            UploadKey!.CopyTo(token[(2 + tokenBytes)..]);
        }

        if (HasMode)
        {
            BinaryPrimitives.WriteUInt16BigEndian(token[(2 + tokenBytes + (HasUploadKey ? TcpWire.UploadKeyLength : 0))..], (ushort)Mode!.Value);
        }

        if (HasRateLimit)
        {
            BinaryPrimitives.WriteInt64BigEndian(p[(payload - 8)..], RateLimit!.Value);
        }

        return TcpWire.FrameHeaderLength + payload;
    }

    /// <summary>Parses an OPEN payload (header already validated).</summary>
    public static TcpDecodeStatus TryRead(ReadOnlySpan<byte> payload, out TcpOpenRequest request)
    {
        request = default;
        if (payload.Length < TcpWire.OpenFixedLength + 2)
        {
            return TcpDecodeStatus.BadLength;
        }

        var op = (TcpOperation)payload[0];
        byte flags = payload[1];
        uint streams = BinaryPrimitives.ReadUInt32BigEndian(payload[2..]);
        long size = BinaryPrimitives.ReadInt64BigEndian(payload[6..]);
        long idSize = BinaryPrimitives.ReadInt64BigEndian(payload[14..]);
        long idMtime = BinaryPrimitives.ReadInt64BigEndian(payload[22..]);
        int pathBytes = BinaryPrimitives.ReadUInt16BigEndian(payload[30..]);
        bool hasKey = (flags & 2) != 0;
        bool hasMode = (flags & 4) != 0;
        bool hasRate = (flags & 8) != 0;
        if (op is TcpOperation.JobPut or TcpOperation.JobGet)
        {
            // A job: no path (the manifest follows in ENTRIES), size = entry count, no version, key or mode.
            if ((flags & ~8) != 0 || streams == 0 || pathBytes != 0 || size is < 1 or > TcpWire.MaxJobEntries || idSize != 0 || idMtime != 0)
            {
                return TcpDecodeStatus.Malformed;
            }
        }
        else if (op is not (TcpOperation.Get or TcpOperation.Put or TcpOperation.List or TcpOperation.MakeDirectory) || (flags & ~15) != 0 || (hasKey && op != TcpOperation.Put)
            || (hasMode && op is not (TcpOperation.Put or TcpOperation.MakeDirectory)) || streams == 0
            || size < 0 || size > TcpWire.MaxFileSize || (op is TcpOperation.Get or TcpOperation.MakeDirectory && size != 0) || (op == TcpOperation.List && size > 1)
            || (pathBytes == 0 && op != TcpOperation.List) || pathBytes > TcpWire.MaxPathBytes || payload.Length < TcpWire.OpenFixedLength + pathBytes + 2)
        {
            return TcpDecodeStatus.Malformed;
        }

        int tokenAt = TcpWire.OpenFixedLength + pathBytes;
        int tokenBytes = BinaryPrimitives.ReadUInt16BigEndian(payload[tokenAt..]);
        int keyAt = tokenAt + 2 + tokenBytes;
        int modeAt = keyAt + (hasKey ? TcpWire.UploadKeyLength : 0);
        int rateAt = modeAt + (hasMode ? 2 : 0);
        if (tokenBytes > TcpWire.MaxTokenBytes || payload.Length != rateAt + (hasRate ? 8 : 0))
        {
            return TcpDecodeStatus.Malformed;
        }

        long? rate = hasRate ? BinaryPrimitives.ReadInt64BigEndian(payload[rateAt..]) : null;
        if (rate is < 0 or > TcpWire.MaxRateLimit)
        {
            return TcpDecodeStatus.Malformed;
        }

        int? mode = hasMode ? BinaryPrimitives.ReadUInt16BigEndian(payload[modeAt..]) : null;
        if (mode > TcpWire.MaxMode)
        {
            return TcpDecodeStatus.Malformed; // setuid, setgid and sticky never travel
        }

        string path;
        string? token;
        try
        {
            path = s_strictUtf8.GetString(payload.Slice(TcpWire.OpenFixedLength, pathBytes));
            token = tokenBytes == 0 ? null : s_strictUtf8.GetString(payload.Slice(tokenAt + 2, tokenBytes));
        }
        catch (DecoderFallbackException)
        {
            return TcpDecodeStatus.Malformed;
        }

        TcpFileVersion? source = (flags & 1) != 0 ? new TcpFileVersion(idSize, idMtime) : null;
        byte[]? key = hasKey ? payload.Slice(keyAt, TcpWire.UploadKeyLength).ToArray() : null;
        request = new TcpOpenRequest(op, path, streams, size, source) { Token = token, UploadKey = key, Mode = mode, RateLimit = rate };
        return TcpDecodeStatus.Ok;
    }
}
