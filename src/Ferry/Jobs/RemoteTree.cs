using Ferry.Protocol.Listing;
using Ferry.Transfers;

namespace Ferry.Jobs;

/// <summary>What a remote path is, from the server's listing: its state and, when it exists, its listing entry.</summary>
/// <param name="Entry">The path's own entry (type, size, mtime, mode), named by its last segment; null when missing or unknown.</param>
public sealed record RemoteStat(DestinationState State, ListingEntry? Entry);

/// <summary>
/// The remote side of job planning, over <see cref="ITransferClient.ListAsync"/> (<c>ferry ls</c>): what a path is
/// and what a directory holds.
/// </summary>
public static class RemoteTree
{
    /// <summary>
    /// What <paramref name="path"/> (normalised, "" for the root) is on the server of <paramref name="server"/>. Its
    /// parent is listed (one level) because a listing of the path alone cannot tell a file named X from a directory
    /// holding only a file named X; when the parent cannot be listed (a token limited to the path itself), the path is.
    /// A path that is not there is <see cref="DestinationState.Missing"/>; any other failure is thrown.
    /// </summary>
    public static async Task<RemoteStat> StatAsync(ITransferClient client, RemoteUrl server, string path, ClientOptions options, CancellationToken ct)
    {
        if (path.Length == 0)
        {
            return new RemoteStat(DestinationState.Directory, null);
        }

        int slash = path.LastIndexOf('/');
        string parent = slash < 0 ? string.Empty : path[..slash];
        string name = path[(slash + 1)..];
        try
        {
            var siblings = await client.ListAsync(server.WithPath(parent), recursive: false, options, ct).ConfigureAwait(false);
            var entry = siblings.FirstOrDefault(e => string.Equals(e.Name, name, StringComparison.Ordinal));
            return entry is null ? new RemoteStat(DestinationState.Missing, null) : new RemoteStat(StateOf(entry), entry);
        }
        catch (TransferException e) when (e.Failure is FailureKind.NotFound)
        {
            return new RemoteStat(DestinationState.Missing, null);
        }
        catch (TransferException e) when (e.Failure is FailureKind.Unauthorized or FailureKind.Denied or FailureKind.NotRegularFile)
        {
            // The parent is out of reach (or a file): ask about the path itself.
        }

        try
        {
            var own = await client.ListAsync(server.WithPath(path), recursive: false, options, ct).ConfigureAwait(false);
            return own is [{ Type: ListingEntryType.File } file] && file.Name == name
                ? new RemoteStat(DestinationState.File, file)
                : new RemoteStat(DestinationState.Directory, null);
        }
        catch (TransferException e) when (e.Failure is FailureKind.NotFound)
        {
            return new RemoteStat(DestinationState.Missing, null);
        }
    }

    /// <summary>Every entry below the directory <paramref name="path"/>, by path relative to it ('/'-separated).</summary>
    public static async Task<Dictionary<string, ListingEntry>> ListAsync(ITransferClient client, RemoteUrl server, string path, ClientOptions options, CancellationToken ct)
    {
        var entries = await client.ListAsync(server.WithPath(path.Length == 0 ? string.Empty : path + "/"), recursive: true, options, ct).ConfigureAwait(false);
        var byName = new Dictionary<string, ListingEntry>(entries.Count, StringComparer.Ordinal);
        foreach (var e in entries)
        {
            byName[e.Name] = e;
        }

        return byName;
    }

    /// <summary>The destination state a listed entry stands for (a symlink or special file reads as a file: nothing can go inside it).</summary>
    public static DestinationState StateOf(ListingEntry entry) =>
        entry.Type == ListingEntryType.Directory ? DestinationState.Directory : DestinationState.File;
}
