namespace Ferry.Protocol.Tcp;

/// <summary>
/// Constants and limits of the tcp:// wire protocol (docs/PROTOCOL.md, "## tcp://").
/// Every length a peer sends is checked against one of these before anything is allocated.
/// </summary>
public static class TcpWire
{
    /// <summary>"FRYT": the first four bytes of every connection a client opens.</summary>
    public const uint Magic = 0x46525954;

    /// <summary>
    /// The only protocol version this implementation speaks. 2: OPEN carries an access token, and a connection may
    /// start with a TLS 1.3 handshake (first byte <see cref="TlsHandshakeRecord"/>) before the preamble.
    /// </summary>
    public const byte Version = 2;

    /// <summary>
    /// The first byte of a TLS handshake record (a ClientHello): a connection that starts with it is encrypted, one that
    /// starts with the magic's 'F' (0x46) is cleartext.
    /// </summary>
    public const byte TlsHandshakeRecord = 0x16;

    /// <summary>Magic (4) + version (1) + connection kind (1) + reserved (2).</summary>
    public const int PreambleLength = 8;

    /// <summary>Frame type (1) + payload length (4, big-endian).</summary>
    public const int FrameHeaderLength = 5;

    /// <summary>Session identifiers are 128-bit random values.</summary>
    public const int SessionIdLength = 16;

    /// <summary>SHA-256 digest length.</summary>
    public const int HashLength = 32;

    /// <summary>Longest remote path, in UTF-8 bytes.</summary>
    public const int MaxPathBytes = 4096;

    /// <summary>Longest access token in OPEN, in UTF-8 bytes (Ferry's tokens are 38).</summary>
    public const int MaxTokenBytes = 512;

    /// <summary>Longest human-readable error text, in UTF-8 bytes.</summary>
    public const int MaxErrorMessageBytes = 1024;

    /// <summary>Most ranges an ACCEPT or HAVE frame may list (16 bytes each: 1 MiB at most).</summary>
    public const int MaxRanges = 65536;

    /// <summary>Smallest block size a server may choose.</summary>
    public const int MinBlockSize = 4096;

    /// <summary>Largest block size a server may choose (and so the largest DATA payload, plus its offset).</summary>
    public const int MaxBlockSize = 64 << 20;

    /// <summary>Block size the server uses unless configured otherwise.</summary>
    public const int DefaultBlockSize = 4 << 20;

    /// <summary>Largest file size the protocol carries (offsets are signed 64-bit on both ends).</summary>
    public const long MaxFileSize = long.MaxValue / 2;

    /// <summary>Fixed part of a DATA payload: the 64-bit file offset that precedes the bytes.</summary>
    public const int DataPrefixLength = 8;

    /// <summary>Length of a complete DATA frame header including the offset (what precedes the file bytes).</summary>
    public const int DataFrameOverhead = FrameHeaderLength + DataPrefixLength;

    /// <summary>Length of the upload key an OPEN (PUT) may carry after its token.</summary>
    public const int UploadKeyLength = 16;

    /// <summary>Largest OPEN mode: the permission bits rwxrwxrwx (never setuid, setgid or sticky).</summary>
    public const int MaxMode = 0x1FF;

    /// <summary>Largest rate limit in OPEN and ACCEPT, bit/s (2^43, about 8.8 Tbit/s).</summary>
    public const long MaxRateLimit = 1L << 43;

    /// <summary>Fixed part of an OPEN payload before the path bytes.</summary>
    public const int OpenFixedLength = 1 + 1 + 4 + 8 + 8 + 8 + 2;

    /// <summary>Fixed part of an ACCEPT payload before the ranges.</summary>
    public const int AcceptFixedLength = SessionIdLength + 4 + 4 + 8 + 8 + 8 + 4;

    /// <summary>Largest control payload of any type (ACCEPT with the maximum number of ranges).</summary>
    public const int MaxControlPayload = AcceptFixedLength + (MaxRanges * 16);

    /// <summary>Most entries one job (JOB_PUT, JOB_GET) may list: OPEN's size field, 1..this.</summary>
    public const int MaxJobEntries = 1_000_000;

    /// <summary>Largest ENTRIES or STATUS payload: a manifest travels in as many frames of at most this as it needs.</summary>
    public const int MaxJobFramePayload = 1 << 20;

    /// <summary>Most bytes all ENTRIES payloads of one job may add up to.</summary>
    public const long MaxManifestBytes = 128L << 20;

    /// <summary>Fixed part of an ENTRIES record: type, mode, size, mtime, path length.</summary>
    public const int EntryFixedLength = 1 + 2 + 8 + 8 + 2;

    /// <summary>Fixed part of a STATUS record: index, code, size, mtime, text length.</summary>
    public const int StatusFixedLength = 4 + 2 + 8 + 8 + 2;

    /// <summary>FILE_HASH payload: index and SHA-256.</summary>
    public const int FileHashPayload = 4 + HashLength;

    /// <summary>Fixed part of FILE_ABORT and FILE_RESULT: index, code, text length.</summary>
    public const int FileOutcomeFixedLength = 4 + 2 + 2;

    /// <summary>True when <paramref name="blockSize"/> is a power of two within the protocol's bounds.</summary>
    public static bool IsValidBlockSize(long blockSize) =>
        blockSize is >= MinBlockSize and <= MaxBlockSize && (blockSize & (blockSize - 1)) == 0;

    /// <summary>
    /// Largest payload a frame of <paramref name="type"/> may declare, or -1 when the type is unknown.
    /// DATA is bounded by the protocol maximum here; a session checks it again against its own block size.
    /// </summary>
    public static int MaxPayload(TcpFrameType type) => type switch
    {
        TcpFrameType.Open => OpenFixedLength + MaxPathBytes + 2 + MaxTokenBytes + UploadKeyLength + 2 + 8,
        TcpFrameType.Accept => MaxControlPayload + 8, // the rate limit after the most ranges
        TcpFrameType.Have => 4 + (MaxRanges * 16),
        TcpFrameType.Hash => HashLength,
        TcpFrameType.Done => 0,
        TcpFrameType.Error => 2 + 2 + MaxErrorMessageBytes,
        TcpFrameType.Join => SessionIdLength + 4,
        TcpFrameType.Joined => 4,
        TcpFrameType.Data => DataPrefixLength + MaxBlockSize,
        TcpFrameType.Ack => 12,
        TcpFrameType.Entries or TcpFrameType.Status => MaxJobFramePayload,
        TcpFrameType.FileHash => FileHashPayload,
        TcpFrameType.FileAbort or TcpFrameType.FileResult => FileOutcomeFixedLength + MaxErrorMessageBytes,
        _ => -1,
    };

    /// <summary>Smallest payload a frame of <paramref name="type"/> may declare.</summary>
    public static int MinPayload(TcpFrameType type) => type switch
    {
        TcpFrameType.Open => OpenFixedLength + 2, // LIST of the root: an empty path
        TcpFrameType.Accept => AcceptFixedLength,
        TcpFrameType.Have => 4,
        TcpFrameType.Hash => HashLength,
        TcpFrameType.Done => 0,
        TcpFrameType.Error => 4,
        TcpFrameType.Join => SessionIdLength + 4,
        TcpFrameType.Joined => 4,
        TcpFrameType.Data => DataPrefixLength + 1,
        TcpFrameType.Ack => 12,
        TcpFrameType.Entries or TcpFrameType.Status => 4 + Math.Min(EntryFixedLength + 1, StatusFixedLength),
        TcpFrameType.FileHash => FileHashPayload,
        TcpFrameType.FileAbort or TcpFrameType.FileResult => FileOutcomeFixedLength,
        _ => int.MaxValue,
    };
}
