using System.Buffers.Binary;
using System.Text;

namespace Ferry.Protocol.Tcp;

/// <summary>One record of a job's manifest (ENTRIES): what the entry is, its metadata, and its path on the server.</summary>
/// <param name="Type">1 = file, 2 = directory.</param>
/// <param name="Mode">Permission bits, 0..0o777.</param>
/// <param name="Size">Bytes of a file (JOB_PUT: the source's; JOB_GET: what the client expects); 0 for a directory.</param>
/// <param name="MtimeUnixMs">Modification time, ms since the Unix epoch.</param>
/// <param name="Path">UTF-8, relative to the server root, '/' separators, 1..4096 bytes.</param>
public readonly record struct TcpJobEntry(byte Type, int Mode, long Size, long MtimeUnixMs, string Path)
{
    public const byte FileType = 1;
    public const byte DirectoryType = 2;

    public bool IsFile => Type == FileType;
}

/// <summary>
/// One record of STATUS: the server's verdict on manifest entry <see cref="Index"/>. <see cref="Code"/> 0 accepts it;
/// anything else is the <see cref="TcpErrorCode"/> that refuses it. JOB_GET: <see cref="Size"/> and
/// <see cref="MtimeUnixMs"/> are the server's file's (the job's byte space uses that size); JOB_PUT: the entry's, echoed.
/// </summary>
public readonly record struct TcpEntryStatus(int Index, ushort Code, long Size, long MtimeUnixMs, string Text)
{
    public bool Accepted => Code == 0;
}

/// <summary>FILE_ABORT and FILE_RESULT: an entry index, a code (FILE_RESULT: 0 = committed) and a text.</summary>
public readonly record struct TcpFileOutcome(int Index, ushort Code, string Text);

/// <summary>
/// Encoders and decoders of the job frames of tcp:// (docs/PROTOCOL.md, "Jobs (many files in one session)"): ENTRIES,
/// STATUS, FILE_HASH, FILE_ABORT and FILE_RESULT. Every count and length is checked against the payload and the
/// protocol's limits before anything is allocated for it. Writers return whole frames (header included).
/// </summary>
public static class TcpJobFrames
{
    private static readonly UTF8Encoding s_strictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>Bytes one entry takes in ENTRIES.</summary>
    public static int EntryLength(in TcpJobEntry entry) => TcpWire.EntryFixedLength + Encoding.UTF8.GetByteCount(entry.Path);

    /// <summary>
    /// Encodes entries from <paramref name="next"/> on into one ENTRIES frame of at most <see cref="TcpWire.MaxJobFramePayload"/>
    /// payload bytes, and advances <paramref name="next"/> past them. Throws on an entry no peer would accept.
    /// </summary>
    public static byte[] WriteEntries(IReadOnlyList<TcpJobEntry> entries, ref int next)
    {
        int first = next, end = next, payload = 4;
        while (end < entries.Count)
        {
            var e = entries[end];
            int pathBytes = Encoding.UTF8.GetByteCount(e.Path);
            if (e.Type is not (TcpJobEntry.FileType or TcpJobEntry.DirectoryType) || e.Mode is < 0 or > TcpWire.MaxMode || e.Size < 0
                || (e.Type == TcpJobEntry.DirectoryType && e.Size != 0) || pathBytes is < 1 or > TcpWire.MaxPathBytes)
            {
                throw new ArgumentException($"entry {end} ('{e.Path}') cannot travel: type, mode, size or path length out of range", nameof(entries));
            }

            if (payload + TcpWire.EntryFixedLength + pathBytes > TcpWire.MaxJobFramePayload)
            {
                break;
            }

            payload += TcpWire.EntryFixedLength + pathBytes;
            end++;
        }

        var frame = new byte[TcpWire.FrameHeaderLength + payload];
        TcpFrameHeader.Write(frame, TcpFrameType.Entries, payload);
        var p = frame.AsSpan(TcpWire.FrameHeaderLength);
        BinaryPrimitives.WriteUInt32BigEndian(p, (uint)(end - first));
        int at = 4;
        for (int i = first; i < end; i++)
        {
            var e = entries[i];
            p[at] = e.Type;
            BinaryPrimitives.WriteUInt16BigEndian(p[(at + 1)..], (ushort)e.Mode);
            BinaryPrimitives.WriteInt64BigEndian(p[(at + 3)..], e.Size);
            BinaryPrimitives.WriteInt64BigEndian(p[(at + 11)..], e.MtimeUnixMs);
            int n = Encoding.UTF8.GetBytes(e.Path, p[(at + TcpWire.EntryFixedLength)..]);
            BinaryPrimitives.WriteUInt16BigEndian(p[(at + 19)..], (ushort)n);
            at += TcpWire.EntryFixedLength + n;
        }

        next = end;
        return frame;
    }

    /// <summary>
    /// Parses an ENTRIES payload into <paramref name="into"/>: 1..<paramref name="remaining"/> records (the entries OPEN
    /// announced and not yet received), filling the payload exactly. On failure <paramref name="into"/> is unchanged.
    /// </summary>
    public static TcpDecodeStatus TryReadEntries(ReadOnlySpan<byte> payload, int remaining, List<TcpJobEntry> into)
    {
        if (payload.Length < 4)
        {
            return TcpDecodeStatus.BadLength;
        }

        uint count = BinaryPrimitives.ReadUInt32BigEndian(payload);
        if (count == 0 || count > (uint)remaining || count > (uint)((payload.Length - 4) / (TcpWire.EntryFixedLength + 1)))
        {
            return TcpDecodeStatus.Malformed;
        }

        int before = into.Count;
        int at = 4;
        for (int i = 0; i < (int)count; i++)
        {
            if (payload.Length - at < TcpWire.EntryFixedLength)
            {
                return Undo(into, before);
            }

            byte type = payload[at];
            int mode = BinaryPrimitives.ReadUInt16BigEndian(payload[(at + 1)..]);
            long size = BinaryPrimitives.ReadInt64BigEndian(payload[(at + 3)..]);
            long mtime = BinaryPrimitives.ReadInt64BigEndian(payload[(at + 11)..]);
            int pathBytes = BinaryPrimitives.ReadUInt16BigEndian(payload[(at + 19)..]);
            at += TcpWire.EntryFixedLength;
            if (type is not (TcpJobEntry.FileType or TcpJobEntry.DirectoryType) || mode > TcpWire.MaxMode || size < 0 || size > TcpWire.MaxFileSize
                || (type == TcpJobEntry.DirectoryType && size != 0) || pathBytes is < 1 or > TcpWire.MaxPathBytes || pathBytes > payload.Length - at)
            {
                return Undo(into, before);
            }

            string path;
            try
            {
                path = s_strictUtf8.GetString(payload.Slice(at, pathBytes));
            }
            catch (DecoderFallbackException)
            {
                return Undo(into, before);
            }

            at += pathBytes;
            into.Add(new TcpJobEntry(type, mode, size, mtime, path));
        }

        return at == payload.Length ? TcpDecodeStatus.Ok : Undo(into, before);
    }

    /// <summary>
    /// Encodes statuses from <paramref name="next"/> on into one STATUS frame (payload at most
    /// <see cref="TcpWire.MaxJobFramePayload"/>) and advances <paramref name="next"/>. Texts longer than 1024 bytes are cut.
    /// </summary>
    public static byte[] WriteStatus(IReadOnlyList<TcpEntryStatus> statuses, ref int next)
    {
        int first = next, end = next, payload = 4;
        while (end < statuses.Count)
        {
            int length = TcpWire.StatusFixedLength + TextLength(statuses[end].Text);
            if (payload + length > TcpWire.MaxJobFramePayload)
            {
                break;
            }

            payload += length;
            end++;
        }

        var frame = new byte[TcpWire.FrameHeaderLength + payload];
        TcpFrameHeader.Write(frame, TcpFrameType.Status, payload);
        var p = frame.AsSpan(TcpWire.FrameHeaderLength);
        BinaryPrimitives.WriteUInt32BigEndian(p, (uint)(end - first));
        int at = 4;
        for (int i = first; i < end; i++)
        {
            var s = statuses[i];
            BinaryPrimitives.WriteUInt32BigEndian(p[at..], (uint)s.Index);
            BinaryPrimitives.WriteUInt16BigEndian(p[(at + 4)..], s.Code);
            BinaryPrimitives.WriteInt64BigEndian(p[(at + 6)..], s.Size);
            BinaryPrimitives.WriteInt64BigEndian(p[(at + 14)..], s.MtimeUnixMs);
            int n = WriteText(s.Text, p[(at + TcpWire.StatusFixedLength)..]);
            BinaryPrimitives.WriteUInt16BigEndian(p[(at + 22)..], (ushort)n);
            at += TcpWire.StatusFixedLength + n;
        }

        next = end;
        return frame;
    }

    /// <summary>
    /// Parses a STATUS payload into <paramref name="into"/>. Records must come in index order, the first one being
    /// <c>into.Count</c> (every entry gets exactly one), and stay below <paramref name="entryCount"/>.
    /// </summary>
    public static TcpDecodeStatus TryReadStatus(ReadOnlySpan<byte> payload, int entryCount, List<TcpEntryStatus> into)
    {
        if (payload.Length < 4)
        {
            return TcpDecodeStatus.BadLength;
        }

        uint count = BinaryPrimitives.ReadUInt32BigEndian(payload);
        if (count == 0 || count > (uint)(entryCount - into.Count) || count > (uint)((payload.Length - 4) / TcpWire.StatusFixedLength))
        {
            return TcpDecodeStatus.Malformed;
        }

        int before = into.Count;
        int at = 4;
        for (int i = 0; i < (int)count; i++)
        {
            if (payload.Length - at < TcpWire.StatusFixedLength)
            {
                return Undo(into, before);
            }

            uint index = BinaryPrimitives.ReadUInt32BigEndian(payload[at..]);
            ushort code = BinaryPrimitives.ReadUInt16BigEndian(payload[(at + 4)..]);
            long size = BinaryPrimitives.ReadInt64BigEndian(payload[(at + 6)..]);
            long mtime = BinaryPrimitives.ReadInt64BigEndian(payload[(at + 14)..]);
            int textBytes = BinaryPrimitives.ReadUInt16BigEndian(payload[(at + 22)..]);
            at += TcpWire.StatusFixedLength;
            if (index != (uint)into.Count || size < 0 || size > TcpWire.MaxFileSize || textBytes > TcpWire.MaxErrorMessageBytes || textBytes > payload.Length - at)
            {
                return Undo(into, before);
            }

            string text = Encoding.UTF8.GetString(payload.Slice(at, textBytes));
            at += textBytes;
            into.Add(new TcpEntryStatus((int)index, code, size, mtime, text));
        }

        return at == payload.Length ? TcpDecodeStatus.Ok : Undo(into, before);
    }

    /// <summary>Writes FILE_HASH: u32 index, 32-byte SHA-256.</summary>
    public static byte[] WriteFileHash(int index, ReadOnlySpan<byte> sha256)
    {
        if (sha256.Length != TcpWire.HashLength)
        {
            throw new ArgumentException("SHA-256 digest must be 32 bytes", nameof(sha256));
        }

        var frame = new byte[TcpWire.FrameHeaderLength + TcpWire.FileHashPayload];
        TcpFrameHeader.Write(frame, TcpFrameType.FileHash, TcpWire.FileHashPayload);
        BinaryPrimitives.WriteUInt32BigEndian(frame.AsSpan(5), (uint)index);
        sha256.CopyTo(frame.AsSpan(9));
        return frame;
    }

    /// <summary>Parses FILE_HASH; the index must be below <paramref name="entryCount"/>.</summary>
    public static TcpDecodeStatus TryReadFileHash(ReadOnlySpan<byte> payload, int entryCount, out int index, out byte[] sha256)
    {
        index = -1;
        sha256 = [];
        if (payload.Length != TcpWire.FileHashPayload)
        {
            return TcpDecodeStatus.BadLength;
        }

        uint i = BinaryPrimitives.ReadUInt32BigEndian(payload);
        if (i >= (uint)entryCount)
        {
            return TcpDecodeStatus.Malformed;
        }

        index = (int)i;
        sha256 = payload.Slice(4, TcpWire.HashLength).ToArray();
        return TcpDecodeStatus.Ok;
    }

    /// <summary>Writes FILE_ABORT or FILE_RESULT: u32 index, u16 code, u16 text length, text (cut at 1024 bytes).</summary>
    public static byte[] WriteOutcome(TcpFrameType type, TcpFileOutcome outcome)
    {
        if (type is not (TcpFrameType.FileAbort or TcpFrameType.FileResult))
        {
            throw new ArgumentOutOfRangeException(nameof(type));
        }

        Span<byte> text = stackalloc byte[TcpWire.MaxErrorMessageBytes];
        int n = WriteText(outcome.Text, text);
        var frame = new byte[TcpWire.FrameHeaderLength + TcpWire.FileOutcomeFixedLength + n];
        TcpFrameHeader.Write(frame, type, TcpWire.FileOutcomeFixedLength + n);
        BinaryPrimitives.WriteUInt32BigEndian(frame.AsSpan(5), (uint)outcome.Index);
        BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(9), outcome.Code);
        BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(11), (ushort)n);
        text[..n].CopyTo(frame.AsSpan(13));
        return frame;
    }

    /// <summary>Parses FILE_ABORT or FILE_RESULT; the index must be below <paramref name="entryCount"/>.</summary>
    public static TcpDecodeStatus TryReadOutcome(ReadOnlySpan<byte> payload, int entryCount, out TcpFileOutcome outcome)
    {
        outcome = default;
        if (payload.Length < TcpWire.FileOutcomeFixedLength)
        {
            return TcpDecodeStatus.BadLength;
        }

        uint index = BinaryPrimitives.ReadUInt32BigEndian(payload);
        ushort code = BinaryPrimitives.ReadUInt16BigEndian(payload[4..]);
        int textBytes = BinaryPrimitives.ReadUInt16BigEndian(payload[6..]);
        if (index >= (uint)entryCount || textBytes > TcpWire.MaxErrorMessageBytes || payload.Length != TcpWire.FileOutcomeFixedLength + textBytes)
        {
            return TcpDecodeStatus.Malformed;
        }

        outcome = new TcpFileOutcome((int)index, code, Encoding.UTF8.GetString(payload.Slice(TcpWire.FileOutcomeFixedLength, textBytes)));
        return TcpDecodeStatus.Ok;
    }

    private static TcpDecodeStatus Undo<T>(List<T> into, int count)
    {
        into.RemoveRange(count, into.Count - count);
        return TcpDecodeStatus.Malformed;
    }

    private static int TextLength(string text)
    {
        Span<byte> scratch = stackalloc byte[TcpWire.MaxErrorMessageBytes];
        return WriteText(text, scratch);
    }

    // Cuts on a character boundary so the text stays valid UTF-8.
    private static int WriteText(string text, Span<byte> destination)
    {
        var encoder = Encoding.UTF8.GetEncoder();
        encoder.Convert(text.AsSpan(), destination[..Math.Min(destination.Length, TcpWire.MaxErrorMessageBytes)], flush: true, out _, out int bytesUsed, out _);
        return bytesUsed;
    }
}
