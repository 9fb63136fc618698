using System.Buffers.Binary;
using Ferry.Protocol.Listing;

namespace Ferry.Tests.Fuzz;

/// <summary>The listing format: round trips and the bounds a decoder enforces before allocating.</summary>
public sealed class ListingCodecTests
{
    private static readonly ListingEntry[] s_entries =
    [
        new(ListingEntryType.Directory, 0x1ED, 0, 1_700_000_000_000, "photos"),
        new(ListingEntryType.File, 0x1A4, 8412, 1_700_000_000_123, "photos/cat #1 ünï ?%.jpg"),
        new(ListingEntryType.Symlink, 0x1FF, 0, -5, "photos/link"),
        new(ListingEntryType.Other, 0, 0, 0, "fifo"),
        new(ListingEntryType.File, 0, long.MaxValue, long.MinValue, new string('n', ListingCodec.MaxNameBytes)),
    ];

    [Fact]
    public void Entries_round_trip()
    {
        byte[] bytes = ListingCodec.Encode(s_entries);
        Assert.True(ListingCodec.TryDecode(bytes, ListingCodec.MaxEntries, out var decoded, out string error), error);
        Assert.Equal(s_entries, decoded);
        Assert.Equal(1 + s_entries.Sum(ListingCodec.RecordSize), bytes.Length);
    }

    [Fact]
    public void An_empty_listing_is_the_version_byte_alone()
    {
        Assert.Equal([ListingCodec.Version], ListingCodec.Encode([]));
        Assert.True(ListingCodec.TryDecode([ListingCodec.Version], 10, out var decoded, out _));
        Assert.Empty(decoded);
    }

    public static TheoryData<string, byte[]> Malformed()
    {
        byte[] good = ListingCodec.Encode([new ListingEntry(ListingEntryType.File, 0x1A4, 3, 0, "abc")]);
        byte[] With(Action<byte[]> change)
        {
            byte[] copy = (byte[])good.Clone();
            change(copy);
            return copy;
        }

        return new TheoryData<string, byte[]>
        {
            { "empty listing", [] },
            { "unknown listing version", With(b => b[0] = 2) },
            { "unknown entry type", With(b => b[1] = 0) },
            { "unknown entry type", With(b => b[1] = 5) },
            { "malformed record", With(b => BinaryPrimitives.WriteUInt16BigEndian(b.AsSpan(2), 0x200)) },
            { "malformed record", With(b => BinaryPrimitives.WriteInt64BigEndian(b.AsSpan(4), -1)) },
            { "malformed record", With(b => BinaryPrimitives.WriteUInt16BigEndian(b.AsSpan(20), 0)) },
            { "malformed record", With(b => BinaryPrimitives.WriteUInt16BigEndian(b.AsSpan(20), 4)) },
            { "malformed record", With(b => BinaryPrimitives.WriteUInt16BigEndian(b.AsSpan(20), ListingCodec.MaxNameBytes + 1)) },
            { "not valid UTF-8", With(b => b[^1] = 0xFF) },
            { "truncated record", good[..^4] },
        };
    }

    [Theory]
    [MemberData(nameof(Malformed))]
    public void Malformed_listings_are_refused_with_a_reason(string reason, byte[] input)
    {
        Assert.False(ListingCodec.TryDecode(input, 10, out _, out string error));
        Assert.Contains(reason, error, StringComparison.Ordinal);
    }

    [Fact]
    public void More_entries_than_the_limit_are_refused()
    {
        var many = Enumerable.Range(0, 11).Select(i => new ListingEntry(ListingEntryType.File, 0, 0, 0, $"f{i}")).ToArray();
        Assert.False(ListingCodec.TryDecode(ListingCodec.Encode(many), 10, out _, out string error));
        Assert.Contains("more than 10 entries", error, StringComparison.Ordinal);
        Assert.True(ListingCodec.TryDecode(ListingCodec.Encode(many[..10]), 10, out _, out _));
    }

    [Fact]
    public void A_name_past_the_format_bounds_cannot_be_encoded()
    {
        Assert.Throws<ArgumentException>(() => ListingCodec.Encode([new ListingEntry(ListingEntryType.File, 0, 0, 0, new string('n', ListingCodec.MaxNameBytes + 1))]));
        Assert.Throws<ArgumentException>(() => ListingCodec.Encode([new ListingEntry(ListingEntryType.File, 0x200, 0, 0, "x")]));
    }
}
