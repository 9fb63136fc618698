using System.Security.Cryptography;
using System.Text;

namespace Ferry.Files;

/// <summary>
/// The server's only door to the filesystem: every protocol resolves, reads and receives files through it.
/// All path validation (the root jail) lives in <see cref="ResolvePath"/>, and every opened descriptor is
/// checked once more against the root via /proc/self/fd so a symlink swapped in between cannot escape.
/// </summary>
public sealed partial class FileEngine
{
    /// <summary>Longest relative path accepted, in UTF-8 bytes (Linux PATH_MAX).</summary>
    public const int MaxPathBytes = 4096;

    private static readonly UTF8Encoding s_strictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    private readonly string _rootReal;
    private readonly string _rootPrefix;
    private readonly string _journalDir;

    public FileEngine(FileEngineOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        Options = options;
        Registry = new UploadRegistry { StaleAfter = options.StaleUploadAfter };
        Directory.CreateDirectory(options.Root);
        Directory.CreateDirectory(options.StateDir);
        _journalDir = Path.Combine(Path.GetFullPath(options.StateDir), "journals");
        Directory.CreateDirectory(_journalDir);

        // The root itself may be reached through a symlink (/tmp on some systems); the jail compares real paths.
        _rootReal = NativeFile.RealPath(Path.GetFullPath(options.Root), out int errno)
            ?? throw new FileEngineException(FileErrorCode.Io, $"cannot resolve root directory '{options.Root}' (errno {errno})");
        _rootPrefix = _rootReal == "/" ? "/" : _rootReal + "/";
    }

    public FileEngineOptions Options { get; }

    public UploadRegistry Registry { get; }

    /// <summary>The canonical real path of the root directory.</summary>
    public string RootPath => _rootReal;

    /// <summary>
    /// Validates a client path ("dir/file.bin": '/' separators, no leading '/') and returns its canonical full
    /// path inside the root (symlinks of existing components resolved). Does not require the file to exist.
    /// Throws <see cref="FileEngineException"/> with <see cref="FileErrorCode.InvalidPath"/>.
    /// </summary>
    public string ResolvePath(string relativePath)
    {
        ValidateRelative(relativePath);
        string lexical = _rootPrefix + relativePath;

        // Find the deepest component that exists and canonicalize it; the rest is created later under it.
        // realpath resolves every symlink on the way, so a link anywhere that leaves the root is caught below.
        string existing = lexical;
        string remainder = string.Empty;
        string? real;
        while (true)
        {
            real = NativeFile.RealPath(existing, out int errno);
            if (real is not null)
            {
                break;
            }

            switch (errno)
            {
                case NativeFile.ENOENT:
                case NativeFile.ENOTDIR:
                    break;
                case NativeFile.ELOOP:
                    throw Invalid(relativePath, "too many levels of symbolic links");
                case NativeFile.EACCES:
                    throw new FileEngineException(FileErrorCode.Denied, $"'{relativePath}': permission denied");
                case NativeFile.ENAMETOOLONG:
                    throw Invalid(relativePath, "path too long");
                default:
                    throw new FileEngineException(FileErrorCode.Io, $"'{relativePath}': cannot resolve path (errno {errno})");
            }

            int slash = existing.LastIndexOf('/');
            string name = existing[(slash + 1)..];
            if (NativeFile.IsSymlink(existing))
            {
                // A dangling symlink (file or directory): following it later could create a file wherever it points.
                throw Invalid(relativePath, "contains a symbolic link to a missing target");
            }

            remainder = remainder.Length == 0 ? name : name + "/" + remainder;
            existing = existing[..slash];
            if (existing.Length < _rootReal.Length)
            {
                // The root itself vanished; report as not found rather than escaping upwards.
                throw new FileEngineException(FileErrorCode.NotFound, $"'{relativePath}': server root is missing");
            }
        }

        // The root itself is fine here: it is the deepest existing ancestor of a new file, or a link to the
        // root that OpenRead/BeginUpload then refuse as a directory.
        if (real != _rootReal && !IsInsideRoot(real))
        {
            throw Invalid(relativePath, "leads outside the server root (symbolic link)");
        }

        if (remainder.Length == 0)
        {
            if (real == _rootReal)
            {
                throw new FileEngineException(FileErrorCode.NotRegularFile, $"'{relativePath}' is a directory (the server root)");
            }

            return real;
        }

        if (!Directory.Exists(real))
        {
            throw new FileEngineException(FileErrorCode.NotFound, $"'{relativePath}': a parent is not a directory");
        }

        return real == "/" ? "/" + remainder : real + "/" + remainder;
    }

    /// <summary>True when <paramref name="fullPath"/> is strictly below the root (the root itself is not a file).</summary>
    public bool IsInsideRoot(string fullPath) =>
        fullPath.StartsWith(_rootPrefix, StringComparison.Ordinal) && fullPath.Length > _rootPrefix.Length;

    /// <summary>Opens an existing regular file for reading; the jail is checked again on the opened descriptor.</summary>
    public ReadableFile OpenRead(string relativePath)
    {
        string full = ResolvePath(relativePath);
        var handle = NativeFile.OpenReadNonBlocking(full, out int errno);
        if (handle is null)
        {
            throw errno switch
            {
                NativeFile.ENOENT => new FileEngineException(FileErrorCode.NotFound, $"'{relativePath}' not found"),
                NativeFile.ENOTDIR => new FileEngineException(FileErrorCode.NotFound, $"'{relativePath}' not found"),
                NativeFile.EACCES or NativeFile.EPERM => new FileEngineException(FileErrorCode.Denied, $"'{relativePath}': permission denied"),
                NativeFile.ELOOP => Invalid(relativePath, "too many levels of symbolic links"),
                _ => new FileEngineException(FileErrorCode.Io, $"'{relativePath}': cannot open (errno {errno})"),
            };
        }

        try
        {
            CheckOpenedInsideRoot(handle, relativePath);
            if (!NativeFile.TryStat(handle, out var stat, out errno))
            {
                throw new FileEngineException(FileErrorCode.Io, $"'{relativePath}': cannot stat (errno {errno})");
            }

            if (!stat.IsRegular)
            {
                throw new FileEngineException(
                    FileErrorCode.NotRegularFile,
                    stat.IsDirectory ? $"'{relativePath}' is a directory; give the name of a file in it: '{relativePath}/NAME'" : $"'{relativePath}' is not a regular file (device, fifo or socket)");
            }

            NativeFile.ClearNonBlocking(handle);
            return new ReadableFile(relativePath, handle, stat.Size, new FileIdentity(stat.Size, stat.MtimeUnixMs));
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Starts (or resumes) an upload of <paramref name="size"/> bytes to <paramref name="relativePath"/>.
    /// Fails with Busy, AlreadyExists, NoSpace, TooLarge or InvalidPath. <paramref name="owner"/> names the
    /// uploader in the Busy message of a competing upload ("udp 127.0.0.1:5555"). <paramref name="uploadKey"/> is the
    /// client's upload key: a running upload of the same path started with the same key is taken over at once (see
    /// <see cref="UploadRegistry"/>); the shell lets its uploads be taken over with <see cref="IncomingFile.AllowTakeover"/>.
    /// </summary>
    public IncomingFile BeginUpload(string relativePath, long size, FileIdentity? identity, string owner, byte[]? uploadKey = null) =>
        BeginUpload(relativePath, size, identity, owner, uploadKey, acceptHeld: false)!;

    /// <summary>
    /// <see cref="BeginUpload(string, long, FileIdentity?, string, byte[])"/>, except that where that refuses an existing
    /// file (AlreadyExists) of <paramref name="identity"/>'s size and non-zero mtime, this returns null: the target may
    /// already be the file the client sends (an earlier run committed it after its client looked), which
    /// <see cref="HoldsContent"/> then says, byte for byte.
    /// </summary>
    public IncomingFile? BeginUploadUnlessHeld(string relativePath, long size, FileIdentity identity, string owner, byte[]? uploadKey = null) =>
        BeginUpload(relativePath, size, identity, owner, uploadKey, acceptHeld: true);

    private IncomingFile? BeginUpload(string relativePath, long size, FileIdentity? identity, string owner, byte[]? uploadKey, bool acceptHeld)
    {
        if (size < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(size));
        }

        if (size > Options.MaxFileSize)
        {
            throw new FileEngineException(FileErrorCode.TooLarge, $"'{relativePath}': {size} bytes exceeds the server limit of {Options.MaxFileSize} bytes");
        }

        string full = ResolvePath(relativePath);
        if (!Registry.TryAcquire(full, owner, uploadKey, out var lease, out var currentOwner))
        {
            throw new FileEngineException(FileErrorCode.Busy, $"'{relativePath}' is being uploaded by {currentOwner}; try again later");
        }

        PartialFile? partial = null;
        try
        {
            if (CheckTarget(full, relativePath, acceptHeld ? identity : null))
            {
                lease!.Dispose();
                return null;
            }

            string dir = Path.GetDirectoryName(full)!;
            if (!NativeFile.TryStatPath(dir, out var parent, out _) || !parent.IsDirectory)
            {
                // An existing parent is the canonical directory ResolvePath found a moment ago: nothing to create or to
                // check again (the opened temp file is checked below). A new one is created, then checked.
                CreateParents(dir, relativePath);
            }

            string name = Path.GetFileName(full);
            string temp = Path.Combine(dir, ReservedNames.PartName(name));
            string journal = Path.Combine(_journalDir, JournalFileName(full));
            partial = PartialFile.Open(full, temp, journal, size, identity, Options.AllowOverwrite, relativePath);
            CheckOpenedInsideRoot(partial.Handle, relativePath);

            var (free, total) = FreeSpace(dir);
            long margin = Options.MarginFor(total);
            long needed = size - partial.Received.TotalLength + margin;
            if (free < needed)
            {
                throw new FileEngineException(
                    FileErrorCode.NoSpace,
                    $"'{relativePath}': not enough free space on the server ({free} bytes free, {needed} needed including {margin} bytes kept free; "
                    + "the server's operator sets that reserve with 'ferry serve --reserve SIZE')");
            }

            return new IncomingFile(relativePath, full, partial, lease!);
        }
        catch
        {
            if (partial is not null)
            {
                // Keep what a previous attempt received; a fresh, empty temp is just litter.
                partial.Abort(keepForResume: partial.ResumedBytes > 0);
                partial.Dispose();
            }

            lease!.Dispose();
            throw;
        }
    }

    /// <summary>
    /// What an upload of <paramref name="relativePath"/> would resume from, without creating anything or taking the path:
    /// the ranges the journal of an interrupted upload of the same size and <paramref name="identity"/> holds (empty when
    /// none). Refuses as <see cref="BeginUpload"/> would before it opens anything: InvalidPath, TooLarge, NotRegularFile,
    /// AlreadyExists (a file there and no --allow-overwrite), except that a file there of <paramref name="identity"/>'s
    /// size and non-zero mtime counts as all present: it may be the very file the client sends (see
    /// <see cref="BeginUploadUnlessHeld"/>).
    /// </summary>
    public Protocol.Common.RangeSet PeekUpload(string relativePath, long size, FileIdentity? identity)
    {
        if (size > Options.MaxFileSize)
        {
            throw new FileEngineException(FileErrorCode.TooLarge, $"'{relativePath}': {size} bytes exceeds the server limit of {Options.MaxFileSize} bytes");
        }

        string full = ResolvePath(relativePath);
        if (CheckTarget(full, relativePath, identity))
        {
            var all = new Protocol.Common.RangeSet();
            all.Add(0, size);
            return all;
        }

        if (identity is null || RangeJournal.TryRead(Path.Combine(_journalDir, JournalFileName(full))) is not { } record
            || record.Size != size || record.Identity != identity || record.FinalPath != full)
        {
            return new Protocol.Common.RangeSet();
        }

        // The journal lists synced ranges of the temp file: a temp shorter than them cannot be resumed.
        string temp = Path.Combine(Path.GetDirectoryName(full)!, ReservedNames.PartName(Path.GetFileName(full)));
        if (!NativeFile.TryStatPath(temp, out var stat, out _) || !stat.IsRegular || (!record.Ranges.IsEmpty && record.Ranges.Last.End > stat.Size))
        {
            return new Protocol.Common.RangeSet();
        }

        return record.Ranges;
    }

    /// <summary>True when the file at <paramref name="relativePath"/> has <paramref name="size"/> bytes whose SHA-256 is <paramref name="sha256"/> (reads it all).</summary>
    public bool HoldsContent(string relativePath, long size, ReadOnlySpan<byte> sha256)
    {
        using var file = OpenRead(relativePath);
        if (file.Length != size)
        {
            return false;
        }

        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buffer = System.Buffers.ArrayPool<byte>.Shared.Rent(1 << 20);
        try
        {
            long offset = 0;
            while (offset < size)
            {
                int n = file.ReadAt(offset, buffer.AsSpan(0, (int)Math.Min(buffer.Length, size - offset)));
                if (n == 0)
                {
                    return false; // shorter than it was a moment ago
                }

                hash.AppendData(buffer, 0, n);
                offset += n;
            }
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(buffer);
        }

        return hash.GetHashAndReset().AsSpan().SequenceEqual(sha256);
    }

    /// <summary>Free bytes available to this process, and the size, of the filesystem holding <paramref name="directory"/>.</summary>
    internal static (long Free, long Total) FreeSpace(string directory)
    {
        try
        {
            // On Unix DriveInfo is statvfs of the given path (f_bavail * f_frsize), any directory works.
            var drive = new DriveInfo(directory);
            return (drive.AvailableFreeSpace, drive.TotalSize);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException)
        {
            return (long.MaxValue, 0);
        }
    }

    internal void CheckOpenedInsideRoot(Microsoft.Win32.SafeHandles.SafeFileHandle handle, string relativePath)
    {
        string? actual = NativeFile.PathOfHandle(handle);
        if (actual is null || !IsInsideRoot(actual))
        {
            throw Invalid(relativePath, "leads outside the server root (changed while opening)");
        }
    }

    // Refuses a target an upload may not replace. True (instead of AlreadyExists) when it is a regular file of
    // mayHold's size and non-zero mtime on a server without --allow-overwrite: the version being sent may be there.
    private bool CheckTarget(string full, string relativePath, FileIdentity? mayHold = null)
    {
        if (!NativeFile.TryStatPath(full, out var stat, out int errno))
        {
            if (errno is NativeFile.ENOENT)
            {
                return false;
            }

            throw new FileEngineException(FileErrorCode.Io, $"'{relativePath}': cannot stat target (errno {errno})");
        }

        if (stat.IsDirectory)
        {
            throw new FileEngineException(FileErrorCode.NotRegularFile, $"'{relativePath}' is a directory on the server; to upload into it, give the file name: '{relativePath}/NAME'");
        }

        if (!stat.IsRegular)
        {
            throw new FileEngineException(FileErrorCode.NotRegularFile, $"'{relativePath}' exists on the server and is not a regular file");
        }

        if (!Options.AllowOverwrite)
        {
            if (mayHold is { MtimeUnixMs: not 0 } version && stat.Size == version.Size && stat.MtimeUnixMs == version.MtimeUnixMs)
            {
                return true;
            }

            throw new FileEngineException(FileErrorCode.AlreadyExists, $"'{relativePath}' already exists on the server (it runs without --allow-overwrite)");
        }

        return false;
    }

    private void CreateParents(string dir, string relativePath)
    {
        try
        {
            Directory.CreateDirectory(dir);
        }
        catch (UnauthorizedAccessException ex)
        {
            throw new FileEngineException(FileErrorCode.Denied, $"'{relativePath}': cannot create parent directory: permission denied", ex);
        }
        catch (IOException ex)
        {
            int errno = NativeFile.ErrnoOf(ex);
            if (NativeFile.IsNoSpace(errno))
            {
                throw new FileEngineException(FileErrorCode.NoSpace, $"'{relativePath}': no space left on the server", ex);
            }

            throw new FileEngineException(FileErrorCode.Io, $"'{relativePath}': cannot create parent directory", ex);
        }

        // The directories were created through a path that was canonical a moment ago; make sure it still is.
        string? real = NativeFile.RealPath(dir, out _);
        if (real is null || (real != _rootReal && !IsInsideRoot(real)))
        {
            throw Invalid(relativePath, "leads outside the server root (changed while creating directories)");
        }
    }

    private static string JournalFileName(string fullPath)
    {
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes(fullPath));
        return Convert.ToHexStringLower(hash.AsSpan(0, 16)) + ReservedNames.JournalSuffix;
    }

    private static void ValidateRelative(string relativePath)
    {
        if (string.IsNullOrEmpty(relativePath))
        {
            throw Invalid(relativePath ?? string.Empty, "empty path");
        }

        if (relativePath[0] == '/')
        {
            throw Invalid(relativePath, "absolute paths are not allowed; give a path relative to the server root");
        }

        int byteCount;
        try
        {
            byteCount = s_strictUtf8.GetByteCount(relativePath);
        }
        catch (EncoderFallbackException)
        {
            throw Invalid(relativePath, "not valid Unicode");
        }

        if (byteCount > MaxPathBytes)
        {
            throw Invalid(Shorten(relativePath), $"path longer than {MaxPathBytes} bytes");
        }

        foreach (char c in relativePath)
        {
            if (c == '\0')
            {
                throw Invalid(Printable(relativePath), "contains a NUL character");
            }

            if (c < 0x20 || c == 0x7F)
            {
                throw Invalid(Printable(relativePath), "contains a control character");
            }

            if (c == '\\')
            {
                throw Invalid(relativePath, "contains a backslash; use '/' as the separator");
            }
        }

        foreach (var range in relativePath.AsSpan().Split('/'))
        {
            var segment = relativePath.AsSpan(range);
            if (segment.IsEmpty)
            {
                throw Invalid(relativePath, "empty path segment ('//' or a trailing '/')");
            }

            if (segment is "." or "..")
            {
                throw Invalid(relativePath, "'.' and '..' segments are not allowed");
            }

            if (s_strictUtf8.GetByteCount(segment) > ReservedNames.MaxNameBytes)
            {
                throw Invalid(Shorten(relativePath), $"a name is longer than {ReservedNames.MaxNameBytes} bytes");
            }

            if (ReservedNames.IsReserved(segment.ToString()))
            {
                throw Invalid(relativePath, $"names ending in '{ReservedNames.PartSuffix}' or '{ReservedNames.JournalSuffix}' are reserved for ferry's temporary files");
            }
        }
    }

    private static FileEngineException Invalid(string relativePath, string why) =>
        new(FileErrorCode.InvalidPath, $"invalid path '{relativePath}': {why}");

    private static string Shorten(string s) => s.Length <= 64 ? s : s[..60] + "...";

    private static string Printable(string s)
    {
        var sb = new StringBuilder(s.Length);
        foreach (char c in Shorten(s))
        {
            sb.Append(c < 0x20 || c == 0x7F ? $"\\x{(int)c:x2}" : c.ToString());
        }

        return sb.ToString();
    }
}
