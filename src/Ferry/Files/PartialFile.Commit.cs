namespace Ferry.Files;

/// <summary>
/// The second half of a commit, run by a <see cref="CommitBatcher"/> for many files at once: make each durable,
/// then put each in place, then (the batcher) sync each directory once, then finish each.
/// </summary>
public sealed partial class PartialFile
{
    /// <summary>The temp file's handle while it is verified but not yet synced; null before and after.</summary>
    internal Microsoft.Win32.SafeHandles.SafeFileHandle? CommittingHandle
    {
        get
        {
            lock (_sync)
            {
                return _state == State.Committing ? _handle : null;
            }
        }
    }

    /// <summary>
    /// fsyncs the temp file (data and metadata) and closes it. Throws NoSpace/Io, leaving the file open as before
    /// the commit (so Dispose keeps it for resume).
    /// </summary>
    internal void SyncForCommit()
    {
        lock (_sync)
        {
            var handle = _state == State.Committing ? _handle : null;
            if (handle is null)
            {
                throw new InvalidOperationException($"'{_displayName}' is not being committed");
            }

            int rc = SyncSeam?.Invoke(this) ?? NativeFile.FullSync(handle);
            if (rc != 0)
            {
                FailCommitLocked();
                throw FromErrno(rc, "fsync failed");
            }

            _dataUnsynced = false;
            handle.Dispose();
            _handle = null;
        }
    }

    /// <summary>
    /// Renames the durable temp file to its final name (no overwrite unless allowed). Returns the directory whose
    /// entry changed; the caller syncs it, then calls <see cref="FinishCommit"/>. Throws AlreadyExists,
    /// NotRegularFile or Io, keeping the verified temp and a journal so a retry (e.g. with overwrite) finishes at once.
    /// </summary>
    internal string Publish()
    {
        lock (_sync)
        {
            if (_state != State.Committing || _handle is not null)
            {
                throw new InvalidOperationException($"'{_displayName}' is not synced for commit");
            }

            // rename() replaces any non-directory: a device or fifo that appeared under the final name since the
            // open is refused here too, so a replacing commit only ever replaces a file (or a link).
            if (_allowOverwrite && NativeFile.TryStatPath(FinalPath, out var existing, out _)
                && existing.Type is NativeFile.S_IFCHR or NativeFile.S_IFBLK or NativeFile.S_IFIFO or NativeFile.S_IFSOCK)
            {
                TryPersistJournalLocked();
                _state = State.Closed;
                throw new FileEngineException(FileErrorCode.NotRegularFile, $"'{_displayName}' is {DownloadDestination.Describe(existing.Type)}, not a regular file; it was left alone");
            }

            int rc = _allowOverwrite ? NativeFile.RenameReplace(TempPath, FinalPath) : NativeFile.RenameNoReplace(TempPath, FinalPath);
            if (rc != 0)
            {
                TryPersistJournalLocked();
                _state = State.Closed;
                throw rc switch
                {
                    NativeFile.EEXIST => new FileEngineException(FileErrorCode.AlreadyExists, $"'{_displayName}' already exists; {_existsHint}"),
                    NativeFile.EISDIR => new FileEngineException(FileErrorCode.NotRegularFile, $"'{_displayName}' is a directory"),
                    _ => FromErrno(rc, "rename into place failed"),
                };
            }

            return Path.GetDirectoryName(FinalPath)!;
        }
    }

    /// <summary>Test seam: replaces the fsync of the temp file (returns 0 or an errno).</summary>
    internal Func<PartialFile, int>? SyncSeam { get; set; }

    /// <summary>After the directory sync: the file is committed; its journal is of no more use.</summary>
    internal void FinishCommit()
    {
        lock (_sync)
        {
            DeleteJournalLocked();
            _state = State.Committed;
        }
    }

    private void DeleteJournalLocked()
    {
        if (_journalOnDisk)
        {
            RangeJournal.Delete(_journalPath);
            _journalOnDisk = false;
        }
    }

    /// <summary>A batch could not make the file durable: it is open again, as before the commit (Dispose keeps it for resume).</summary>
    private void FailCommitLocked()
    {
        _state = State.Open;
        if (_buffer is null)
        {
            // Disposed while the batch held it: finish the close Dispose left to the batch.
            CloseLocked(deleteFiles: false);
        }
    }
}
