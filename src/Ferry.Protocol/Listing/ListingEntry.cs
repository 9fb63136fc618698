namespace Ferry.Protocol.Listing;

/// <summary>What a listed entry is. Values are stable: they go on the wire.</summary>
public enum ListingEntryType : byte
{
    File = 1,

    Directory = 2,

    /// <summary>A symbolic link: reported, never followed.</summary>
    Symlink = 3,

    /// <summary>A device, fifo or socket.</summary>
    Other = 4,
}

/// <summary>
/// One entry of a remote listing. <see cref="Name"/> is relative to the listed directory, '/'-separated (the file's own
/// name when a single file was listed); <see cref="Mode"/> holds only the rwx bits for user, group and other (0..0777).
/// </summary>
public sealed record ListingEntry(ListingEntryType Type, int Mode, long Size, long MtimeUnixMs, string Name);
