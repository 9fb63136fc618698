using System.Buffers.Binary;
using System.Numerics;
using System.Text;
using Ferry.Protocol.Common;

namespace Ferry.Files;

/// <summary>
/// The durable record of which byte ranges of a temp file are on disk, so a transfer can resume.
/// Format (little-endian): "FRYJ", u32 version=1, i64 size, u8 hasIdentity, i64 identity size, i64 identity mtime ms,
/// u16 path length + UTF-8 final path, u32 range count, count x (i64 start, i64 end), u32 CRC-32C of all before.
/// Written to "{journal}.tmp", fsynced, renamed over the journal: a reader sees the old or the new record, never a torn one.
/// </summary>
internal static class RangeJournal
{
    private const uint Magic = 0x4A595246; // "FRYJ"
    private const uint Version = 1;
    private const int MaxRanges = 1 << 22;

    public readonly record struct Record(long Size, FileIdentity? Identity, string FinalPath, RangeSet Ranges);

    public static void Write(string journalPath, long size, FileIdentity? identity, string finalPath, RangeSet ranges)
    {
        byte[] pathBytes = Encoding.UTF8.GetBytes(finalPath);
        int pathLen = Math.Min(pathBytes.Length, ushort.MaxValue);
        int len = 4 + 4 + 8 + 1 + 8 + 8 + 2 + pathLen + 4 + (ranges.Count * 16) + 4;
        byte[] buf = new byte[len];
        var s = buf.AsSpan();
        int p = 0;
        BinaryPrimitives.WriteUInt32LittleEndian(s[p..], Magic); p += 4;
        BinaryPrimitives.WriteUInt32LittleEndian(s[p..], Version); p += 4;
        BinaryPrimitives.WriteInt64LittleEndian(s[p..], size); p += 8;
        s[p++] = identity.HasValue ? (byte)1 : (byte)0;
        BinaryPrimitives.WriteInt64LittleEndian(s[p..], identity?.Size ?? 0); p += 8;
        BinaryPrimitives.WriteInt64LittleEndian(s[p..], identity?.MtimeUnixMs ?? 0); p += 8;
        BinaryPrimitives.WriteUInt16LittleEndian(s[p..], (ushort)pathLen); p += 2;
        pathBytes.AsSpan(0, pathLen).CopyTo(s[p..]); p += pathLen;
        BinaryPrimitives.WriteUInt32LittleEndian(s[p..], (uint)ranges.Count); p += 4;
        foreach (var r in ranges)
        {
            BinaryPrimitives.WriteInt64LittleEndian(s[p..], r.Start); p += 8;
            BinaryPrimitives.WriteInt64LittleEndian(s[p..], r.End); p += 8;
        }

        BinaryPrimitives.WriteUInt32LittleEndian(s[p..], Crc32C(s[..p]));

        string tmp = journalPath + ".tmp";
        using (var fs = new FileStream(tmp, FileMode.Create, FileAccess.Write, FileShare.None, bufferSize: 0))
        {
            fs.Write(buf);
            fs.Flush(flushToDisk: true);
        }

        // No directory fsync: if the rename is lost in a crash the previous journal remains, and it only
        // lists ranges that were already synced, so resuming from it is still correct.
        File.Move(tmp, journalPath, overwrite: true);
    }

    /// <summary>Reads a journal; null when missing, torn, of another version or otherwise unusable.</summary>
    public static Record? TryRead(string journalPath)
    {
        byte[] buf;
        try
        {
            var info = new FileInfo(journalPath);
            if (!info.Exists || info.Length > 16 + ((long)MaxRanges * 16) + 70_000)
            {
                return null;
            }

            buf = File.ReadAllBytes(journalPath);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }

        var s = buf.AsSpan();
        const int fixedHead = 4 + 4 + 8 + 1 + 8 + 8 + 2;
        if (s.Length < fixedHead + 4 + 4)
        {
            return null;
        }

        uint crc = BinaryPrimitives.ReadUInt32LittleEndian(s[^4..]);
        if (crc != Crc32C(s[..^4]))
        {
            return null;
        }

        if (BinaryPrimitives.ReadUInt32LittleEndian(s) != Magic || BinaryPrimitives.ReadUInt32LittleEndian(s[4..]) != Version)
        {
            return null;
        }

        int p = 8;
        long size = BinaryPrimitives.ReadInt64LittleEndian(s[p..]); p += 8;
        bool hasId = s[p++] != 0;
        long idSize = BinaryPrimitives.ReadInt64LittleEndian(s[p..]); p += 8;
        long idMtime = BinaryPrimitives.ReadInt64LittleEndian(s[p..]); p += 8;
        int pathLen = BinaryPrimitives.ReadUInt16LittleEndian(s[p..]); p += 2;
        if (s.Length < p + pathLen + 4 + 4)
        {
            return null;
        }

        string path = Encoding.UTF8.GetString(s.Slice(p, pathLen)); p += pathLen;
        uint count = BinaryPrimitives.ReadUInt32LittleEndian(s[p..]); p += 4;
        if (count > MaxRanges || s.Length != p + ((long)count * 16) + 4)
        {
            return null;
        }

        var ranges = new RangeSet();
        for (int i = 0; i < count; i++)
        {
            long start = BinaryPrimitives.ReadInt64LittleEndian(s[p..]); p += 8;
            long end = BinaryPrimitives.ReadInt64LittleEndian(s[p..]); p += 8;
            if (start < 0 || end <= start || end > size)
            {
                return null;
            }

            ranges.Add(start, end);
        }

        return new Record(size, hasId ? new FileIdentity(idSize, idMtime) : null, path, ranges);
    }

    /// <summary>
    /// False when neither the journal nor its ".tmp" is on disk (two stats): an upload that finds none and never writes
    /// one has nothing to delete, which spares a tree of small files four failing unlinks a file.
    /// </summary>
    public static bool MayExist(string journalPath) =>
        !IsAbsent(journalPath) || !IsAbsent(journalPath + ".tmp");

    public static void Delete(string journalPath)
    {
        TryDelete(journalPath);
        TryDelete(journalPath + ".tmp");
    }

    private static bool IsAbsent(string path) =>
        !NativeFile.TryStatPath(path, out _, out int errno) && errno == NativeFile.ENOENT;

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // Best effort: a stale journal is ignored at the next open unless it still matches.
        }
    }

    private static uint Crc32C(ReadOnlySpan<byte> data)
    {
        uint crc = 0xFFFFFFFF;
        while (data.Length >= 8)
        {
            crc = BitOperations.Crc32C(crc, BinaryPrimitives.ReadUInt64LittleEndian(data));
            data = data[8..];
        }

        foreach (byte b in data)
        {
            crc = BitOperations.Crc32C(crc, b);
        }

        return ~crc;
    }
}
