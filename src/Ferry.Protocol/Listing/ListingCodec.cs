using System.Buffers;
using System.Buffers.Binary;
using System.Text;

namespace Ferry.Protocol.Listing;

/// <summary>
/// The encoded form of a listing (docs/PROTOCOL.md, "Listing format"): a one-byte version, then records of
/// type (u8), mode (u16), size (i64), mtime in Unix ms (i64), name length (u16), UTF-8 name, all big-endian.
/// Travels as the bytes of a downloaded file, so its integrity comes from the transfer's SHA-256.
/// </summary>
public static class ListingCodec
{
    public const byte Version = 1;

    /// <summary>Most entries one listing may hold (the server refuses a larger one).</summary>
    public const int MaxEntries = 1_000_000;

    /// <summary>Longest name of one entry, in UTF-8 bytes.</summary>
    public const int MaxNameBytes = 4096;

    /// <summary>Largest encoded listing: a client refuses to receive more, a server to build more.</summary>
    public const long MaxEncodedBytes = 128L << 20;

    /// <summary>Bytes of a record before its name.</summary>
    public const int RecordFixedBytes = 1 + 2 + 8 + 8 + 2;

    private static readonly UTF8Encoding s_strictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>Bytes one entry takes once encoded.</summary>
    public static int RecordSize(ListingEntry entry) => RecordFixedBytes + Encoding.UTF8.GetByteCount(entry.Name);

    /// <summary>Encodes <paramref name="entries"/>; throws <see cref="ArgumentException"/> on a name or mode outside the format's bounds.</summary>
    public static byte[] Encode(IReadOnlyCollection<ListingEntry> entries)
    {
        var output = new ArrayBufferWriter<byte>(1 + entries.Count * (RecordFixedBytes + 16));
        output.GetSpan(1)[0] = Version;
        output.Advance(1);
        foreach (var e in entries)
        {
            int nameBytes = Encoding.UTF8.GetByteCount(e.Name);
            if (nameBytes is 0 or > MaxNameBytes || e.Mode is < 0 or > 0x1FF || e.Size < 0)
            {
                throw new ArgumentException($"entry '{e.Name}' is outside the listing format's bounds", nameof(entries));
            }

            var span = output.GetSpan(RecordFixedBytes + nameBytes);
            span[0] = (byte)e.Type;
            BinaryPrimitives.WriteUInt16BigEndian(span[1..], (ushort)e.Mode);
            BinaryPrimitives.WriteInt64BigEndian(span[3..], e.Size);
            BinaryPrimitives.WriteInt64BigEndian(span[11..], e.MtimeUnixMs);
            BinaryPrimitives.WriteUInt16BigEndian(span[19..], (ushort)nameBytes);
            Encoding.UTF8.GetBytes(e.Name, span[RecordFixedBytes..]);
            output.Advance(RecordFixedBytes + nameBytes);
        }

        return output.WrittenSpan.ToArray();
    }

    /// <summary>
    /// Decodes a whole listing. False with a reason on any malformed input: an unknown version or type, a mode past
    /// 0777, a negative size, an empty, overlong or non-UTF-8 name, a truncated record, more than
    /// <paramref name="maxEntries"/> entries. Nothing is allocated beyond what the input itself holds.
    /// </summary>
    public static bool TryDecode(ReadOnlySpan<byte> data, int maxEntries, out List<ListingEntry> entries, out string error)
    {
        entries = new List<ListingEntry>();
        error = string.Empty;
        if (data.IsEmpty || data[0] != Version)
        {
            error = data.IsEmpty ? "empty listing" : $"unknown listing version {data[0]}";
            return false;
        }

        int pos = 1;
        while (pos < data.Length)
        {
            if (entries.Count >= maxEntries)
            {
                error = $"more than {maxEntries} entries";
                return false;
            }

            if (data.Length - pos < RecordFixedBytes)
            {
                error = $"truncated record at byte {pos}";
                return false;
            }

            var r = data[pos..];
            var type = (ListingEntryType)r[0];
            int mode = BinaryPrimitives.ReadUInt16BigEndian(r[1..]);
            long size = BinaryPrimitives.ReadInt64BigEndian(r[3..]);
            long mtime = BinaryPrimitives.ReadInt64BigEndian(r[11..]);
            int nameBytes = BinaryPrimitives.ReadUInt16BigEndian(r[19..]);
            if (type is < ListingEntryType.File or > ListingEntryType.Other)
            {
                error = $"unknown entry type {(byte)type} at byte {pos}";
                return false;
            }

            if (mode > 0x1FF || size < 0 || nameBytes is 0 or > MaxNameBytes || r.Length - RecordFixedBytes < nameBytes)
            {
                error = $"malformed record at byte {pos}";
                return false;
            }

            string name;
            try
            {
                name = s_strictUtf8.GetString(r.Slice(RecordFixedBytes, nameBytes));
            }
            catch (DecoderFallbackException)
            {
                error = $"name not valid UTF-8 at byte {pos}";
                return false;
            }

            entries.Add(new ListingEntry(type, mode, size, mtime, name));
            pos += RecordFixedBytes + nameBytes;
        }

        return true;
    }
}
