using Ferry.Protocol.Listing;

namespace Ferry.Tests.Fuzz;

/// <summary>
/// A listing as a client decodes it: every accepted input obeys the documented bounds and encodes back to the same
/// bytes (the format has one spelling per listing).
/// </summary>
internal sealed class ListingCodecTarget : IFuzzInstance
{
    public static FuzzTarget Target { get; } = new("listing.codec", () => new ListingCodecTarget(), 1 << 20, 16 << 10);

    public IReadOnlyList<byte[]> Seeds { get; } =
    [
        ListingCodec.Encode([]),
        ListingCodec.Encode([new ListingEntry(ListingEntryType.File, 0x1A4, 12345, 1_700_000_000_123, "a.txt")]),
        ListingCodec.Encode(
        [
            new ListingEntry(ListingEntryType.Directory, 0x1ED, 0, 0, "dir"),
            new ListingEntry(ListingEntryType.File, 0x180, long.MaxValue, -1, "dir/ünï #1 ?%.bin"),
            new ListingEntry(ListingEntryType.Symlink, 0x1FF, 0, 5, "dir/link"),
            new ListingEntry(ListingEntryType.Other, 0, 0, long.MinValue, "fifo"),
        ]),
    ];

    public bool Run(byte[] input, Random rng)
    {
        if (!ListingCodec.TryDecode(input, 64, out var entries, out _))
        {
            return false;
        }

        foreach (var e in entries)
        {
            if (e.Mode is < 0 or > 0x1FF || e.Size < 0 || e.Name.Length == 0 || e.Type is < ListingEntryType.File or > ListingEntryType.Other)
            {
                throw new FuzzPropertyException($"accepted an entry outside the bounds: {e}");
            }
        }

        if (!ListingCodec.Encode(entries).AsSpan().SequenceEqual(input))
        {
            throw new FuzzPropertyException("an accepted listing does not encode back to the same bytes");
        }

        return true;
    }
}
