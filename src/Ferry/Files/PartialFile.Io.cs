namespace Ferry.Files;

/// <summary>The lock-held internals of <see cref="PartialFile"/>: coalescing, hashing back, syncing, closing.</summary>
public sealed partial class PartialFile
{
    private void WritePieceLocked(long offset, ReadOnlySpan<byte> data)
    {
        // Only a piece touching no existing range adds one; checking adjacency too keeps the common case free.
        if (Received.Count >= RangeLimit && !Received.Overlaps(offset - 1, offset + data.Length + 1))
        {
            throw new FileEngineException(FileErrorCode.TooLarge, $"'{_displayName}': data arrives too fragmented (more than {RangeLimit} separate ranges)");
        }

        var buffer = _buffer!;
        if (_bufLen > 0 && offset == _bufStart + _bufLen && data.Length <= buffer.Length - _bufLen)
        {
            data.CopyTo(buffer.AsSpan(_bufLen));
            _bufLen += data.Length;
        }
        else
        {
            FlushBufferLocked();
            buffer = _buffer!; // with background hashing the flushed buffer now belongs to the hasher
            if (data.Length >= buffer.Length / 2)
            {
                // Big pieces gain nothing from coalescing; write and hash them straight from the caller's memory.
                WriteToFileLocked(offset, data);
                if (!_hashInBackground && offset == _hashedUpTo)
                {
                    _hash.AppendData(data);
                    _hashedUpTo = offset + data.Length;
                }
            }
            else
            {
                data.CopyTo(buffer);
                _bufStart = offset;
                _bufLen = data.Length;
            }
        }

        Received.Add(offset, offset + data.Length);
        _journalStale = true;
        _finalHash = null;
        if (_hashInBackground && _bufLen == 0)
        {
            ReadBackLocked(); // a big piece went straight to the file from the caller's memory
        }

        if (_bufLen == buffer.Length)
        {
            FlushBufferLocked();
        }
    }

    private void FlushBufferLocked()
    {
        if (_bufLen == 0)
        {
            return;
        }

        long start = _bufStart;
        int len = _bufLen;
        _bufLen = 0;
        try
        {
            WriteToFileLocked(start, _buffer.AsSpan(0, len));
        }
        catch (FileEngineException)
        {
            // Those bytes never reached the file: forget them so Received (and any journal) stays truthful.
            Received.Remove(start, start + len);
            throw;
        }

        if (_hashInBackground)
        {
            HashFlushedLocked(start, len);
            return;
        }

        // In-order data is hashed from the buffer in one call per flush: hashing each small write separately
        // costs more in per-call overhead than the hashing itself.
        if (start == _hashedUpTo)
        {
            _hash.AppendData(_buffer!, 0, len);
            _hashedUpTo = start + len;
        }

        // The buffer is free now: use it to advance the hash over data that arrived out of order, a bounded
        // amount per flush so a long resumed prefix is hashed progressively rather than in one stall.
        CatchUpHashLocked(2L * _buffer!.Length);
    }

    private void WriteToFileLocked(long offset, ReadOnlySpan<byte> data)
    {
        try
        {
            RandomAccess.Write(_handle!, data, offset);
            _dataUnsynced = true;
        }
        catch (IOException ex) when (ex is not FileEngineException)
        {
            throw MapIo(ex, _displayName, "write failed");
        }
    }

    private void CatchUpHashLocked(long maxBytes)
    {
        long target = Received.ContiguousEnd(0);
        if (target - _hashedUpTo > maxBytes)
        {
            target = _hashedUpTo + maxBytes;
        }

        var buffer = _buffer!;
        while (_hashedUpTo < target)
        {
            int n = (int)Math.Min(buffer.Length, target - _hashedUpTo);
            int got = ReadableFile.ReadFully(_handle!, _hashedUpTo, buffer.AsSpan(0, n), _displayName);
            if (got < n)
            {
                throw new FileEngineException(FileErrorCode.Io, $"'{_displayName}': temporary file is shorter than its journal says");
            }

            _hash.AppendData(buffer, 0, n);
            _hashedUpTo += n;
        }
    }

    private byte[] ComputeSha256Locked()
    {
        if (_finalHash is not null)
        {
            return _finalHash;
        }

        if (!Received.ContainsAll(0, Size))
        {
            throw new InvalidOperationException($"cannot hash '{_displayName}': {Size - Received.TotalLength} bytes still missing");
        }

        FlushBufferLocked();
        if (_hashInBackground)
        {
            ReadBackLocked();
            DrainHashChainLocked(stop: false);
            _hashedUpTo = _hashQueuedUpTo;
        }

        CatchUpHashLocked(long.MaxValue);
        _finalHash = _hash.GetCurrentHash();
        return _finalHash;
    }

    private void SyncAndPersistLocked()
    {
        if (_dataUnsynced)
        {
            int rc = NativeFile.DataSync(_handle!);
            if (rc != 0)
            {
                throw FromErrno(rc, "fdatasync failed");
            }

            _dataUnsynced = false;
        }

        if (_journalStale && Identity.HasValue)
        {
            try
            {
                _journalOnDisk = true;
                RangeJournal.Write(_journalPath, Size, Identity, FinalPath, Received);
            }
            catch (UnauthorizedAccessException ex)
            {
                throw new FileEngineException(FileErrorCode.Denied, $"'{_displayName}': cannot write resume journal: permission denied", ex);
            }
            catch (IOException ex) when (ex is not FileEngineException)
            {
                throw MapIo(ex, _displayName, "cannot write resume journal");
            }

            _journalStale = false;
        }
    }

    private void TryPersistJournalLocked()
    {
        try
        {
            if (_handle is not null)
            {
                SyncAndPersistLocked();
            }
            else if (_journalStale && Identity.HasValue)
            {
                // Handle already closed after a full fsync (commit path): data is durable, record it.
                _journalOnDisk = true;
                RangeJournal.Write(_journalPath, Size, Identity, FinalPath, Received);
                _journalStale = false;
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // Keeping the previous journal is safe: it lists only ranges that were synced before it was written.
        }
    }

    private void CloseLocked(bool deleteFiles)
    {
        DrainHashChainLocked(stop: true); // its tasks read the handle
        _handle?.Dispose();
        _handle = null;
        _bufLen = 0;
        _state = State.Closed;
        if (deleteFiles)
        {
            DeleteJournalLocked();
            try
            {
                File.Delete(TempPath);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                // Left behind; it carries a reserved name, so no client can see it, and the next attempt truncates it.
            }
        }
    }

    private void EnsureOpen()
    {
        if (_state != State.Open || _handle is null)
        {
            throw new ObjectDisposedException(nameof(PartialFile), $"'{_displayName}' is no longer open ({_state})");
        }
    }

    private FileEngineException FromErrno(int errno, string what) =>
        NativeFile.IsNoSpace(errno)
            ? new FileEngineException(FileErrorCode.NoSpace, $"'{_displayName}': no space left on device; the partial file is kept for resume")
            : new FileEngineException(FileErrorCode.Io, $"'{_displayName}': {what} (errno {errno})");

    private static FileEngineException MapIo(IOException ex, string displayName, string what)
    {
        int errno = NativeFile.ErrnoOf(ex);
        if (NativeFile.IsNoSpace(errno))
        {
            return new FileEngineException(FileErrorCode.NoSpace, $"'{displayName}': no space left on device; the partial file is kept for resume", ex);
        }

        if (errno is NativeFile.EACCES or NativeFile.EPERM or NativeFile.EROFS)
        {
            return new FileEngineException(FileErrorCode.Denied, $"'{displayName}': {what}: {ex.Message}", ex);
        }

        return new FileEngineException(FileErrorCode.Io, $"'{displayName}': {what}: {ex.Message}", ex);
    }
}
