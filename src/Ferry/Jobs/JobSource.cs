using System.Buffers;
using System.Security.Cryptography;
using Ferry.Files;
using Ferry.Protocol.Jobs;
using Ferry.Transfers;
using Microsoft.Win32.SafeHandles;

namespace Ferry.Jobs;

/// <summary>A file of a job opened for sending: its handle, its length now, and what to dispose with it.</summary>
public sealed record JobSourceFile(SafeFileHandle Handle, long Length, IDisposable Owner);

/// <summary>
/// The sending end of a job, whatever carries it: reads ranges of the job's byte space (<see cref="JobLayout"/>) across
/// its files, opened lazily and closed once their last byte was read (at most <see cref="MaxOpenFiles"/> at once), and
/// hashes the files in index order on its own task. A file that cannot be opened or read, or whose size changed, is
/// aborted once (<c>onAbort</c>): its bytes read as zeros from then on and its hash is not sent. Thread-safe.
/// </summary>
public sealed class JobSource : IDisposable
{
    public const int DefaultMaxOpenFiles = 64;

    private const int HashChunk = 1 << 20;

    private readonly Lock _sync = new();
    private readonly JobLayout _layout;
    private readonly Func<int, JobSourceFile> _open;
    private readonly Action<int, FailureKind, string> _onAbort;
    private readonly Dictionary<int, JobSourceFile> _openFiles = new();
    private readonly Queue<int> _openOrder = new();
    private readonly bool[] _aborted;

    /// <param name="open">Opens entry i for reading (any exception aborts that file).</param>
    /// <param name="onAbort">Called once per aborted file (any thread).</param>
    public JobSource(JobLayout layout, Func<int, JobSourceFile> open, Action<int, FailureKind, string> onAbort, int maxOpenFiles = DefaultMaxOpenFiles)
    {
        _layout = layout;
        _open = open;
        _onAbort = onAbort;
        MaxOpenFiles = maxOpenFiles;
        _aborted = new bool[layout.Count];
    }

    public int MaxOpenFiles { get; }

    /// <summary>Fills <paramref name="destination"/> with the job's bytes at <paramref name="jobOffset"/> (zeros for aborted files); returns its length.</summary>
    public int Read(long jobOffset, Span<byte> destination)
    {
        foreach (var seg in _layout.Segments(jobOffset, destination.Length))
        {
            var piece = destination.Slice((int)seg.RangeOffset, (int)seg.Length);
            string? failure = null;
            lock (_sync)
            {
                if (_aborted[seg.File])
                {
                    piece.Clear();
                    continue;
                }

                try
                {
                    var file = OpenLocked(seg.File);
                    int got = file is null ? 0 : ReadableFile.ReadFully(file.Handle, seg.FileOffset, piece, $"entry {seg.File}");
                    if (got < piece.Length)
                    {
                        failure = $"it shrank while being sent (read ended at {seg.FileOffset + got}, expected {_layout.Size(seg.File)} bytes)";
                    }
                    else if (seg.FileOffset + seg.Length == _layout.Size(seg.File))
                    {
                        CloseLocked(seg.File); // its last byte was read; a requeued block reopens it
                    }
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    failure = e.Message;
                }
            }

            if (failure is not null)
            {
                piece.Clear();
                Abort(seg.File, FailureKind.Io, failure);
            }
        }

        return destination.Length;
    }

    /// <summary>
    /// Hashes <paramref name="files"/> in order; each file's SHA-256 goes to <paramref name="onHash"/> (awaited: one at a
    /// time), or the file is aborted. Returns once every file is hashed or aborted.
    /// </summary>
    public Task RunHasherAsync(IReadOnlyList<int> files, Func<int, byte[], Task> onHash, CancellationToken ct) =>
        Task.Factory.StartNew(
            async () =>
            {
                byte[] buffer = ArrayPool<byte>.Shared.Rent(HashChunk);
                try
                {
                    foreach (int i in files)
                    {
                        ct.ThrowIfCancellationRequested();
                        byte[]? hash = HashOne(i, buffer, ct);
                        if (hash is not null)
                        {
                            await onHash(i, hash).ConfigureAwait(false);
                        }
                    }
                }
                finally
                {
                    ArrayPool<byte>.Shared.Return(buffer);
                }
            },
            ct,
            TaskCreationOptions.LongRunning,
            TaskScheduler.Default).Unwrap();

    /// <summary>True when entry <paramref name="index"/> was aborted.</summary>
    public bool IsAborted(int index)
    {
        lock (_sync)
        {
            return _aborted[index];
        }
    }

    public void Dispose()
    {
        lock (_sync)
        {
            foreach (var f in _openFiles.Values)
            {
                f.Owner.Dispose();
            }

            _openFiles.Clear();
            _openOrder.Clear();
        }
    }

    private byte[]? HashOne(int index, byte[] buffer, CancellationToken ct)
    {
        if (IsAborted(index))
        {
            return null;
        }

        long size = _layout.Size(index);
        JobSourceFile file;
        try
        {
            file = _open(index);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Abort(index, e is FileEngineException fe ? Failures.From(fe.Code) : FailureKind.Io, e.Message);
            return null;
        }

        using (file.Owner)
        {
            if (file.Length != size)
            {
                Abort(index, FailureKind.Io, $"its size changed from {size} to {file.Length} bytes");
                return null;
            }

            using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            try
            {
                for (long pos = 0; pos < size;)
                {
                    ct.ThrowIfCancellationRequested();
                    int n = (int)Math.Min(buffer.Length, size - pos);
                    int got = ReadableFile.ReadFully(file.Handle, pos, buffer.AsSpan(0, n), $"entry {index}");
                    if (got < n)
                    {
                        Abort(index, FailureKind.Io, $"it shrank while being hashed (ended at {pos + got}, expected {size} bytes)");
                        return null;
                    }

                    hash.AppendData(buffer, 0, n);
                    pos += n;
                }

                // One byte more than expected means it grew: what was sent would not be the file.
                if (RandomAccess.GetLength(file.Handle) != size)
                {
                    Abort(index, FailureKind.Io, "its size changed while being hashed");
                    return null;
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                Abort(index, FailureKind.Io, e.Message);
                return null;
            }

            return hash.GetHashAndReset();
        }
    }

    private void Abort(int index, FailureKind kind, string message)
    {
        lock (_sync)
        {
            if (_aborted[index])
            {
                return;
            }

            _aborted[index] = true;
            CloseLocked(index);
        }

        _onAbort(index, kind, message);
    }

    private JobSourceFile? OpenLocked(int index)
    {
        if (_openFiles.TryGetValue(index, out var file))
        {
            return file;
        }

        file = _open(index);
        if (file.Length < _layout.Size(index))
        {
            file.Owner.Dispose();
            throw new IOException($"its size changed from {_layout.Size(index)} to {file.Length} bytes");
        }

        while (_openFiles.Count >= MaxOpenFiles && _openOrder.TryDequeue(out int oldest))
        {
            CloseLocked(oldest);
        }

        _openFiles[index] = file;
        _openOrder.Enqueue(index);
        return file;
    }

    private void CloseLocked(int index)
    {
        if (_openFiles.Remove(index, out var file))
        {
            file.Owner.Dispose();
        }
    }
}
