using System.Buffers;
using System.Security.Cryptography;
using Ferry.Protocol.Common;
using Microsoft.Win32.SafeHandles;

namespace Ferry.Files;

/// <summary>
/// A file being received (server upload or client download): positional writes into a temp file beside the
/// final name, a durable journal of the ranges on disk, an incremental SHA-256, and an atomic commit.
/// A file never appears under its final name unless it is complete and its hash verified.
/// Memory: one coalescing buffer (1 MiB) whatever the file size. Thread-safe (one lock; callers normally
/// drive it from one loop).
/// </summary>
public sealed partial class PartialFile : IDisposable
{
    /// <summary>Size of the write-coalescing buffer, also used as scratch when hashing back from the temp file.</summary>
    public const int BufferSize = 1 << 20;

    /// <summary>
    /// Most disjoint received ranges a file may have (16 bytes each in memory and in the journal). A sender that
    /// leaves holes everywhere would otherwise grow both with the file size; past this the write is refused.
    /// </summary>
    public const int MaxRanges = 1 << 18;

    private readonly Lock _sync = new();
    private readonly string _journalPath;
    private readonly bool _allowOverwrite;
    private readonly string _displayName;
    private readonly string _existsHint;
    private readonly List<ByteRange> _gapScratch = new();
    private SafeFileHandle? _handle;
    private byte[]? _buffer;
    private readonly IncrementalHash _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);

    // Pending coalesced bytes: [_bufStart, _bufStart + _bufLen) are in Received but not yet in the file.
    private long _bufStart;
    private int _bufLen;

    // The hash covers [0, _hashedUpTo); invariant: _hashedUpTo <= Received.ContiguousEnd(0), and bytes below it
    // are never written again (Write skips received ranges), so the hash always matches the file.
    private long _hashedUpTo;
    private byte[]? _finalHash;
    private bool _dataUnsynced;
    private bool _journalStale;

    // A journal (or its ".tmp") may be on disk: found at open or written since. Only the holder of the temp file's
    // lock writes one, so while this is false there is none to delete.
    private bool _journalOnDisk;
    private State _state = State.Open;

    private PartialFile(
        string finalPath, string tempPath, string journalPath, long size, FileIdentity? identity,
        bool allowOverwrite, string displayName, string existsHint, SafeFileHandle handle, RangeSet received, bool journalOnDisk)
    {
        _journalOnDisk = journalOnDisk;
        FinalPath = finalPath;
        TempPath = tempPath;
        _journalPath = journalPath;
        Size = size;
        Identity = identity;
        _allowOverwrite = allowOverwrite;
        _displayName = displayName;
        _existsHint = existsHint;
        _handle = handle;
        Received = received;
        ResumedBytes = received.TotalLength;
        // A small file needs no more buffer than its size (a job may hold hundreds of them open at once); an upload
        // begun with size 0 grows later (zmq://) and gets the full buffer.
        _buffer = ArrayPool<byte>.Shared.Rent(size is > 0 and < BufferSize ? (int)Math.Max(4096, size) : BufferSize);
    }

    private enum State
    {
        Open,

        /// <summary>Verified and handed to a commit batch: no more writes; the batch owns the handle.</summary>
        Committing,
        Committed,
        Closed,
    }

    public string FinalPath { get; }

    public string TempPath { get; }

    /// <summary>Where the range journal is kept (StateDir on a server, beside the destination on a client).</summary>
    public string JournalPath => _journalPath;

    public long Size { get; private set; }

    /// <summary>Version of the source this copy belongs to; null means "unknown" and never resumes.</summary>
    public FileIdentity? Identity { get; }

    /// <summary>
    /// What is in the temp file (including resumed ranges and bytes still in the coalescing buffer).
    /// Not synchronized: read it from the thread that writes, and never modify it.
    /// </summary>
    public RangeSet Received { get; }

    /// <summary>Bytes loaded from the journal at open.</summary>
    public long ResumedBytes { get; }

    /// <summary>True when every byte of [0, Size) has been received.</summary>
    public bool IsComplete
    {
        get
        {
            lock (_sync)
            {
                return Received.ContainsAll(0, Size);
            }
        }
    }

    /// <summary>True once <see cref="Commit"/> has put the file under its final name.</summary>
    public bool IsCommitted => _state == State.Committed;

    /// <summary>Where <see cref="Commit"/> makes the file durable and puts it in place, together with others.</summary>
    internal CommitBatcher Batcher { get; set; } = CommitBatcher.Shared;

    /// <summary><see cref="MaxRanges"/>, lowered by tests.</summary>
    internal int RangeLimit { get; set; } = MaxRanges;

    internal SafeFileHandle Handle => _handle ?? throw new ObjectDisposedException(nameof(PartialFile));

    /// <summary>
    /// True when a download into <paramref name="destPath"/> left a journal that a new download may resume from
    /// (whether it does depends on the identity the server announces).
    /// </summary>
    public static bool HasDownloadJournal(string destPath)
    {
        try
        {
            string full = DownloadDestination.Resolve(destPath, overwrite: true);
            return File.Exists(Path.Combine(Path.GetDirectoryName(full)!, ReservedNames.JournalName(Path.GetFileName(full))));
        }
        catch (Exception e) when (e is ArgumentException or IOException or UnauthorizedAccessException or NotSupportedException)
        {
            return false; // ForDownload reports a bad path when ACCEPT arrives
        }
    }

    /// <summary>
    /// The ranges a download into <paramref name="destPath"/> of this <paramref name="size"/> and <paramref name="identity"/>
    /// would resume from (its journal's, when it describes this very file version and the temp file still holds them),
    /// without opening or creating anything; empty otherwise.
    /// </summary>
    public static RangeSet PeekDownload(string destPath, long size, FileIdentity identity, bool overwrite)
    {
        try
        {
            string full = DownloadDestination.Resolve(destPath, overwrite);
            string dir = Path.GetDirectoryName(full)!, name = Path.GetFileName(full);
            if (RangeJournal.TryRead(Path.Combine(dir, ReservedNames.JournalName(name))) is { } r && r.Size == size && r.Identity == identity && r.FinalPath == full
                && NativeFile.TryStatPath(Path.Combine(dir, ReservedNames.PartName(name)), out var stat, out _) && stat.IsRegular
                && (r.Ranges.IsEmpty || r.Ranges.Last.End <= stat.Size))
            {
                return r.Ranges;
            }
        }
        catch (Exception e) when (e is ArgumentException or IOException or UnauthorizedAccessException or NotSupportedException)
        {
            // Opening it later says what is wrong.
        }

        return new RangeSet();
    }

    /// <summary>
    /// Client download into <paramref name="destPath"/>: temp ".{name}.ferry-part" and journal ".{name}.ferry-journal"
    /// beside it (beside the file a symlink points at: <see cref="DownloadDestination"/>). Refuses an existing
    /// destination unless <paramref name="overwrite"/> (AlreadyExists), anything but a regular file (NotRegularFile), resumes
    /// when the journal's identity equals <paramref name="identity"/>, and checks free space for what is missing.
    /// </summary>
    public static PartialFile ForDownload(string destPath, long size, FileIdentity identity, bool overwrite)
    {
        ArgumentException.ThrowIfNullOrEmpty(destPath);
        ArgumentOutOfRangeException.ThrowIfNegative(size);
        string full = DownloadDestination.Resolve(destPath, overwrite);
        string name = Path.GetFileName(full);
        if (ReservedNames.IsReserved(name))
        {
            throw new FileEngineException(FileErrorCode.InvalidPath, $"'{destPath}': names ending in '{ReservedNames.PartSuffix}' or '{ReservedNames.JournalSuffix}' are reserved for ferry's temporary files");
        }

        string dir = Path.GetDirectoryName(full)!;
        try
        {
            Directory.CreateDirectory(dir);
        }
        catch (UnauthorizedAccessException ex)
        {
            throw new FileEngineException(FileErrorCode.Denied, $"cannot create directory for '{destPath}': permission denied", ex);
        }
        catch (IOException ex) when (ex is not FileEngineException)
        {
            throw MapIo(ex, destPath, "cannot create the destination directory");
        }

        string temp = Path.Combine(dir, ReservedNames.PartName(name));
        string journal = Path.Combine(dir, ReservedNames.JournalName(name));
        var file = Open(full, temp, journal, size, identity, overwrite, destPath, "add --overwrite to replace it");
        long needed = size - file.Received.TotalLength;
        long free = FileEngine.FreeSpace(dir).Free;
        if (free < needed)
        {
            file.Abort(keepForResume: file.ResumedBytes > 0);
            file.Dispose();
            throw new FileEngineException(FileErrorCode.NoSpace, $"not enough free space for '{destPath}': {needed} bytes needed, {free} free");
        }

        return file;
    }

    /// <summary>
    /// Opens the temp file, resuming from the journal when it describes this very transfer (same final path,
    /// size and identity, and the temp file still holds the ranges), else starting over with an empty temp.
    /// </summary>
    internal static PartialFile Open(
        string finalPath, string tempPath, string journalPath, long size, FileIdentity? identity,
        bool allowOverwrite, string displayName, string existsHint = "the server runs without --allow-overwrite")
    {
        var handle = NativeFile.OpenTempExclusive(tempPath, out int errno);
        if (handle is null)
        {
            throw errno switch
            {
                NativeFile.EWOULDBLOCK => new FileEngineException(FileErrorCode.Busy, $"'{displayName}' is being received by another process"),
                NativeFile.ELOOP => new FileEngineException(FileErrorCode.InvalidPath, $"'{displayName}': its temporary file name is a symbolic link; refusing to follow it"),
                NativeFile.EACCES or NativeFile.EPERM or NativeFile.EROFS => new FileEngineException(FileErrorCode.Denied, $"'{displayName}': cannot create temporary file: permission denied"),
                NativeFile.EISDIR => new FileEngineException(FileErrorCode.NotRegularFile, $"'{displayName}': its temporary file name is a directory"),
                _ when NativeFile.IsNoSpace(errno) => new FileEngineException(FileErrorCode.NoSpace, $"'{displayName}': no space left on device"),
                _ => new FileEngineException(FileErrorCode.Io, $"'{displayName}': cannot open temporary file (errno {errno})"),
            };
        }

        bool journalOnDisk, resume;
        RangeJournal.Record? record;
        try
        {
            // Read under the temp file's lock: only its holder writes the journal, so what is read here stays true.
            journalOnDisk = RangeJournal.MayExist(journalPath);
            record = identity.HasValue && journalOnDisk ? RangeJournal.TryRead(journalPath) : null;
            resume = record is { } r && r.Size == size && r.Identity == identity && r.FinalPath == finalPath;
            if (!NativeFile.TryStat(handle, out var stat, out errno) || !stat.IsRegular)
            {
                throw new FileEngineException(FileErrorCode.NotRegularFile, $"'{displayName}': its temporary file is not a regular file");
            }

            // The journal only lists synced ranges, but a temp shorter than them was truncated by someone else.
            resume = resume && (record!.Value.Ranges.IsEmpty || record.Value.Ranges.Last.End <= stat.Size);
            if (!resume)
            {
                // Journal first: a crash between the two must never leave a journal describing a truncated file.
                // Truncating only now, under the lock, never destroys a file another process is still writing.
                if (journalOnDisk)
                {
                    RangeJournal.Delete(journalPath);
                    journalOnDisk = false;
                }

                if (stat.Size != 0)
                {
                    RandomAccess.SetLength(handle, 0);
                }
            }
        }
        catch (IOException ex) when (ex is not FileEngineException)
        {
            handle.Dispose();
            throw MapIo(ex, displayName, "cannot prepare temporary file");
        }
        catch
        {
            handle.Dispose();
            throw;
        }

        var received = resume ? record!.Value.Ranges : new RangeSet();
        return new PartialFile(finalPath, tempPath, journalPath, size, identity, allowOverwrite, displayName, existsHint, handle, received, journalOnDisk);
    }

    /// <summary>
    /// Writes <paramref name="data"/> at <paramref name="offset"/>. Bytes already received are skipped (never
    /// written twice), small sequential writes are coalesced. Throws FileEngineException(NoSpace/Io); on NoSpace
    /// the temp file and journal are kept so the transfer can resume.
    /// </summary>
    public void Write(long offset, ReadOnlySpan<byte> data)
    {
        lock (_sync)
        {
            EnsureOpen();
            if (offset < 0 || offset > Size - data.Length)
            {
                throw new ArgumentOutOfRangeException(nameof(offset), $"write [{offset}, {offset + data.Length}) outside file of {Size} bytes");
            }

            if (data.IsEmpty)
            {
                return;
            }

            long end = offset + data.Length;
            if (!Received.Overlaps(offset, end))
            {
                WritePieceLocked(offset, data);
                return;
            }

            if (Received.ContainsAll(offset, end))
            {
                return;
            }

            _gapScratch.Clear();
            foreach (var gap in Received.Gaps(offset, end))
            {
                _gapScratch.Add(gap);
            }

            foreach (var gap in _gapScratch)
            {
                WritePieceLocked(gap.Start, data.Slice((int)(gap.Start - offset), (int)gap.Length));
            }
        }
    }

    /// <summary>Writes coalesced bytes to the temp file (not necessarily to stable storage).</summary>
    public void Flush()
    {
        lock (_sync)
        {
            EnsureOpen();
            FlushBufferLocked();
        }
    }

    /// <summary>
    /// Flushes, fdatasyncs, then atomically persists the journal: resumable ranges are always on disk.
    /// Callers decide the cadence (e.g. every second or every 64 MiB); a crash loses at most what came after.
    /// </summary>
    public void Checkpoint()
    {
        lock (_sync)
        {
            EnsureOpen();
            FlushBufferLocked();
            SyncAndPersistLocked();
        }
    }

    /// <summary>
    /// Whole-file SHA-256 (requires <see cref="IsComplete"/>). Cheap: the contiguous prefix is hashed as it grows,
    /// so only what was not yet hashed is read back here.
    /// </summary>
    public byte[] ComputeSha256()
    {
        lock (_sync)
        {
            EnsureOpen();
            return (byte[])ComputeSha256Locked().Clone();
        }
    }

    /// <summary>
    /// Verifies <paramref name="expectedSha256"/> (mismatch: temp and journal deleted, Integrity), fsyncs, renames
    /// into place (no overwrite unless allowed: AlreadyExists, temp kept), fsyncs the directory, deletes the journal.
    /// Returns once the file is durable under its final name. Files committed at the same time share their syncs:
    /// see <see cref="CommitBatcher"/>; the errors stay this file's own.
    /// </summary>
    public void Commit(ReadOnlySpan<byte> expectedSha256)
    {
        PrepareCommit(expectedSha256);

        // On the committer's own thread: fsyncs of files committed at the same time run concurrently, and the
        // filesystem carries them in one journal commit. The batch then renames and syncs the directories.
        SyncForCommit();
        Batcher.Commit(this);
    }

    /// <summary>
    /// <see cref="Commit"/> for a caller that must not block (one loop receiving many files): verifies now (and throws
    /// Integrity now), then completes when the file is durable under its final name, or faults with this file's error.
    /// The fsync runs in the batch, concurrently with those of the other files committed meanwhile.
    /// </summary>
    public Task CommitAsync(ReadOnlySpan<byte> expectedSha256)
    {
        PrepareCommit(expectedSha256);
        return Batcher.CommitAsync(this);
    }

    /// <summary>
    /// The first half of a commit, this file alone: verifies the hash and finishes the temp file. Then it is made durable
    /// (<see cref="SyncForCommit"/>), and a batch puts it in place (<see cref="Publish"/>) with the others.
    /// </summary>
    private void PrepareCommit(ReadOnlySpan<byte> expectedSha256)
    {
        lock (_sync)
        {
            EnsureOpen();
            if (expectedSha256.Length != SHA256.HashSizeInBytes)
            {
                throw new ArgumentException("expected SHA-256 must be 32 bytes", nameof(expectedSha256));
            }

            if (!Received.ContainsAll(0, Size))
            {
                throw new InvalidOperationException($"cannot commit '{_displayName}': {Size - Received.TotalLength} bytes still missing");
            }

            byte[] actual = ComputeSha256Locked();
            if (!CryptographicOperations.FixedTimeEquals(actual, expectedSha256))
            {
                CloseLocked(deleteFiles: true);
                throw new FileEngineException(
                    FileErrorCode.Integrity,
                    $"'{_displayName}': SHA-256 mismatch (expected {Convert.ToHexStringLower(expectedSha256)}, received data hashes to {Convert.ToHexStringLower(actual)}); the received data was discarded");
            }

            var handle = _handle!;
            try
            {
                if (RandomAccess.GetLength(handle) != Size)
                {
                    RandomAccess.SetLength(handle, Size);
                }
            }
            catch (IOException ex) when (ex is not FileEngineException)
            {
                throw MapIo(ex, _displayName, "cannot finish temporary file");
            }

            // Whatever else the temp file must carry (times, mode) is set here: before the sync, so it is durable too.
            ApplyCommitMetadataLocked(handle);
            _state = State.Committing;
        }
    }

    /// <summary>
    /// Stops receiving. keepForResume: checkpoint and keep temp + journal (only possible with an identity);
    /// otherwise delete both.
    /// </summary>
    public void Abort(bool keepForResume)
    {
        lock (_sync)
        {
            if (_state != State.Open)
            {
                return;
            }

            // Without an identity there is no journal and nothing could ever resume from the temp file.
            keepForResume &= Identity.HasValue;
            if (keepForResume)
            {
                try
                {
                    FlushBufferLocked();
                }
                catch (FileEngineException)
                {
                    // The unwritten bytes were dropped from Received; the rest is still worth keeping.
                }

                TryPersistJournalLocked();
            }

            CloseLocked(deleteFiles: !keepForResume);
        }
    }

    /// <summary>If not committed, keeps what was received for a later resume (Abort(true)); frees the buffer.</summary>
    public void Dispose()
    {
        lock (_sync)
        {
            if (_state == State.Open)
            {
                try
                {
                    Abort(keepForResume: true);
                }
                catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
                {
                    CloseLocked(deleteFiles: false);
                }
            }

            DrainHashChainLocked(stop: true);
            if (_state != State.Committing)
            {
                // A batch still syncs through the handle; it closes it when done with it.
                _handle?.Dispose();
                _handle = null;
            }

            if (_buffer is { } b)
            {
                _buffer = null;
                ArrayPool<byte>.Shared.Return(b);
                ReturnHashBuffers();
                _hash.Dispose();
            }
        }
    }

    public override string ToString() => $"{_displayName} ({Received.TotalLength}/{Size} bytes)";
}
