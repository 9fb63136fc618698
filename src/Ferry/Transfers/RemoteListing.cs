using Ferry.Protocol.Listing;

namespace Ferry.Transfers;

/// <summary>
/// The client half of <c>ferry ls</c>, shared by every scheme that lists: the listing arrives as a downloaded file
/// (so flow control, retransmission and SHA-256 come from the scheme's GET), into a private temporary directory that
/// is removed afterwards; its bytes are then decoded with <see cref="ListingCodec"/>.
/// </summary>
public static class RemoteListing
{
    /// <summary>Downloads through <paramref name="get"/> (given the temporary local path) and decodes the listing.</summary>
    public static async Task<IReadOnlyList<ListingEntry>> FetchAsync(Func<string, Task<TransferResult>> get)
    {
        // Created with mode 0700 and a random name.
        string dir = Directory.CreateTempSubdirectory("ferry-ls-").FullName;
        try
        {
            string file = Path.Combine(dir, "listing");
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
        finally
        {
            try
            {
                Directory.Delete(dir, recursive: true);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // Best effort: a temp directory left behind is harmless.
            }
        }
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
