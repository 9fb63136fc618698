using System.Text;
using Ferry.Protocol.Listing;

namespace Ferry.Files;

/// <summary>Listing a directory (or one file) under the root, for <c>ferry ls</c>.</summary>
public sealed partial class FileEngine
{
    /// <summary>Deepest directory level a recursive listing descends to (the listed directory is level 0).</summary>
    public const int MaxListingDepth = 64;

    /// <summary>
    /// Lists <paramref name="relativePath"/> ("" for the root): a directory's entries (all levels below it when
    /// <paramref name="recursive"/>), or the one entry of a regular file. Names are relative to the listed directory,
    /// '/'-separated; ferry's temp files and journals are left out. A symbolic link is listed as
    /// <see cref="ListingEntryType.Symlink"/> and never followed, wherever it points. Throws
    /// <see cref="FileEngineException"/>: InvalidPath (outside the root), NotFound, Denied, Io, and TooLarge past
    /// <see cref="ListingCodec.MaxEntries"/> entries, <see cref="ListingCodec.MaxEncodedBytes"/> bytes or
    /// <see cref="MaxListingDepth"/> levels.
    /// </summary>
    public List<ListingEntry> List(string relativePath, bool recursive)
    {
        string full = relativePath.Length == 0 ? _rootReal : ResolveForListing(relativePath);
        if (!NativeFile.TryStatPath(full, out var stat, out int errno))
        {
            throw StatFailure(relativePath, errno);
        }

        var entries = new List<ListingEntry>();
        if (!stat.IsDirectory)
        {
            entries.Add(Entry(stat, relativePath.Length == 0 ? "." : Path.GetFileName(relativePath.TrimEnd('/'))));
            return entries;
        }

        long bytes = 1;
        var pending = new Stack<(string Full, string Prefix, int Depth)>();
        pending.Push((full, string.Empty, 0));
        while (pending.Count > 0)
        {
            var (dir, prefix, depth) = pending.Pop();
            foreach (string child in Children(dir, relativePath, prefix))
            {
                string name = Path.GetFileName(child);
                if (ReservedNames.IsReserved(name))
                {
                    continue;
                }

                if (!NativeFile.TryStatPath(child, out var s, out errno))
                {
                    if (errno == NativeFile.ENOENT)
                    {
                        continue; // removed while listing
                    }

                    throw StatFailure(prefix + name, errno);
                }

                var entry = Entry(s, prefix + name);
                bytes += ListingCodec.RecordSize(entry);
                if (entries.Count >= ListingCodec.MaxEntries || bytes > ListingCodec.MaxEncodedBytes)
                {
                    throw new FileEngineException(FileErrorCode.TooLarge,
                        $"'{Display(relativePath)}': the listing is longer than the server's limit ({ListingCodec.MaxEntries} entries, {ListingCodec.MaxEncodedBytes >> 20} MiB); list a subdirectory");
                }

                if (Encoding.UTF8.GetByteCount(entry.Name) > ListingCodec.MaxNameBytes)
                {
                    throw new FileEngineException(FileErrorCode.TooLarge, $"'{Display(relativePath)}': a name below it is longer than {ListingCodec.MaxNameBytes} bytes; list a subdirectory");
                }

                entries.Add(entry);

                // lstat said directory: a symlink to one is a Symlink entry and is not descended into.
                if (recursive && entry.Type == ListingEntryType.Directory)
                {
                    if (depth + 1 >= MaxListingDepth)
                    {
                        throw new FileEngineException(FileErrorCode.TooLarge,
                            $"'{Display(relativePath)}': directories nested deeper than the server's limit of {MaxListingDepth} levels; list a subdirectory");
                    }

                    pending.Push((child, entry.Name + "/", depth + 1));
                }
            }
        }

        // By name with '/' lowest, so a directory comes just before its contents ("a", "a/b", "a-b").
        entries.Sort((a, b) => string.CompareOrdinal(a.Name.Replace('/', '\0'), b.Name.Replace('/', '\0')));
        return entries;
    }

    /// <summary>Most encoded listings the server builds or holds at once (each at most <see cref="ListingCodec.MaxEncodedBytes"/>).</summary>
    public const int MaxListingsHeld = 16;

    private int _listingsHeld;

    /// <summary>
    /// <see cref="List"/> encoded in the wire format (<see cref="ListingCodec"/>): what every scheme serves as the
    /// file of a LIST request. The caller disposes it once sent; past <see cref="MaxListingsHeld"/> listings held at
    /// once the request is refused (Busy), so many clients cannot make the server hold many large listings.
    /// </summary>
    public HeldListing ListEncoded(string relativePath, bool recursive)
    {
        if (Interlocked.Increment(ref _listingsHeld) > MaxListingsHeld)
        {
            Interlocked.Decrement(ref _listingsHeld);
            throw new FileEngineException(FileErrorCode.Busy, $"the server is already serving {MaxListingsHeld} listings; try again later");
        }

        try
        {
            return new HeldListing(ListingCodec.Encode(List(relativePath, recursive)), () => Interlocked.Decrement(ref _listingsHeld));
        }
        catch
        {
            Interlocked.Decrement(ref _listingsHeld);
            throw;
        }
    }

    private string ResolveForListing(string relativePath)
    {
        // "dir/" lists dir, as ls does.
        string trimmed = relativePath.TrimEnd('/');
        if (trimmed.Length == 0)
        {
            return _rootReal;
        }

        try
        {
            return ResolvePath(trimmed);
        }
        catch (FileEngineException e) when (e.Code == FileErrorCode.NotRegularFile)
        {
            return _rootReal; // a symlink to the root itself
        }
    }

    private IEnumerable<string> Children(string dir, string relativePath, string prefix)
    {
        // The directory was reached through lstat'ed names only; its real path must still be in the root.
        string? real = NativeFile.RealPath(dir, out _);
        if (real is null || (real != _rootReal && !IsInsideRoot(real)))
        {
            throw Invalid(Display(relativePath), "leads outside the server root (changed while listing)");
        }

        try
        {
            return Directory.GetFileSystemEntries(dir);
        }
        catch (UnauthorizedAccessException e)
        {
            throw new FileEngineException(FileErrorCode.Denied, $"'{Display(JoinDisplay(relativePath, prefix))}': permission denied", e);
        }
        catch (DirectoryNotFoundException e)
        {
            throw new FileEngineException(FileErrorCode.NotFound, $"'{Display(JoinDisplay(relativePath, prefix))}' not found", e);
        }
        catch (IOException e)
        {
            throw new FileEngineException(FileErrorCode.Io, $"'{Display(JoinDisplay(relativePath, prefix))}': cannot list ({e.Message})", e);
        }
    }

    private static ListingEntry Entry(NativeFile.FileStat s, string name)
    {
        var type = s.Type switch
        {
            NativeFile.S_IFREG => ListingEntryType.File,
            NativeFile.S_IFDIR => ListingEntryType.Directory,
            NativeFile.S_IFLNK => ListingEntryType.Symlink,
            _ => ListingEntryType.Other,
        };
        return new ListingEntry(type, s.Mode & 0x1FF, type == ListingEntryType.File ? s.Size : 0, s.MtimeUnixMs, name);
    }

    private static FileEngineException StatFailure(string relativePath, int errno) => errno switch
    {
        NativeFile.ENOENT or NativeFile.ENOTDIR => new FileEngineException(FileErrorCode.NotFound, $"'{Display(relativePath)}' not found"),
        NativeFile.EACCES or NativeFile.EPERM => new FileEngineException(FileErrorCode.Denied, $"'{Display(relativePath)}': permission denied"),
        _ => new FileEngineException(FileErrorCode.Io, $"'{Display(relativePath)}': cannot stat (errno {errno})"),
    };

    private static string JoinDisplay(string relativePath, string prefix) =>
        prefix.Length == 0 ? relativePath : relativePath.Length == 0 ? prefix.TrimEnd('/') : relativePath.TrimEnd('/') + "/" + prefix.TrimEnd('/');

    private static string Display(string relativePath) => relativePath.Length == 0 ? "/" : relativePath;
}

/// <summary>An encoded listing and its place among the <see cref="FileEngine.MaxListingsHeld"/> the server may hold.</summary>
public sealed class HeldListing(byte[] bytes, Action release) : IDisposable
{
    private int _disposed;

    public byte[] Bytes { get; } = bytes;

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            release();
        }
    }
}
