using Ferry.Protocol.Listing;

namespace Ferry.Transfers;

/// <summary>
/// The client half of <c>ferry ls</c>, shared by every scheme that lists: the listing arrives as a downloaded file
/// (so flow control, retransmission and SHA-256 come from the scheme's GET), into a <see cref="Files.PrivateTempDirectory"/>; its bytes are then decoded with <see cref="ListingCodec"/>.
/// </summary>
public static class RemoteListing
{
    /// <summary>Downloads through <paramref name="get"/> (given the temporary local path) and decodes the listing.</summary>
    public static async Task<IReadOnlyList<ListingEntry>> FetchAsync(Func<string, Task<TransferResult>> get)
    {
        using var dir = Files.PrivateTempDirectory.Create("ferry-ls-", "a listing");
        string file = dir.Combine("listing");
        await get(file).ConfigureAwait(false);
        var info = new FileInfo(file);
        CheckSize(info.Length);
        byte[] bytes = await File.ReadAllBytesAsync(file).ConfigureAwait(false);
        if (!ListingCodec.TryDecode(bytes, ListingCodec.MaxEntries, out var entries, out string error))
        {
            throw new TransferException(ExitCode.Failure, $"the server sent a malformed listing: {error}");
        }

        return entries;
    }

    /// <summary>Refuses a listing larger than <see cref="ListingCodec.MaxEncodedBytes"/> before receiving it.</summary>
    public static void CheckSize(long size)
    {
        if (size > ListingCodec.MaxEncodedBytes)
        {
            throw new TransferException(ExitCode.Failure, $"the server announced a listing of {size} bytes, more than the limit of {ListingCodec.MaxEncodedBytes} bytes");
        }
    }

    /// <summary>The error for a server that refused the LIST operation as unknown.</summary>
    public static TransferException Unsupported(Exception? inner = null) =>
        new(ExitCode.Failure, "this server does not support listing (upgrade it)" + (inner is null ? string.Empty : $": {inner.Message}"));
}
