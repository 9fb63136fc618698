using System.Buffers;
using System.Collections.Concurrent;

namespace Ferry.Files;

/// <summary>
/// Background hashing. With <see cref="HashInBackground"/>, a full coalescing buffer, once written, is handed to
/// a chain of thread-pool tasks that hash in file order, and the writer goes on with a spare buffer; ranges that
/// became contiguous out of order (and a resumed prefix) are read back from the temp file by the same chain.
/// SHA-256 is about half of a receiver's CPU; inside the receiving loop it left the machine's other core idle.
/// Only the chain touches the hash state while it runs; the writer only appends tasks (under the file's lock,
/// which the tasks never take) and waits for them before computing or closing.
/// </summary>
public sealed partial class PartialFile
{
    /// <summary>Coalescing buffers in rotation with background hashing: the one being filled and two being hashed.</summary>
    public const int BackgroundBuffers = 3;

    private bool _hashInBackground;
    private ConcurrentQueue<byte[]>? _spare;
    private SemaphoreSlim? _spareCount;
    private byte[]? _readBack;
    private Task _hashChain = Task.CompletedTask;
    private long _hashQueuedUpTo;
    private volatile bool _hashStopped;
    private Exception? _hashFault;

    /// <summary>
    /// Hash the received prefix on thread-pool threads instead of inside <see cref="Write"/>. Set before the first
    /// write. Costs two more 1 MiB buffers.
    /// </summary>
    public bool HashInBackground
    {
        get => _hashInBackground;
        set
        {
            lock (_sync)
            {
                if (value == _hashInBackground)
                {
                    return;
                }

                if (Received.TotalLength != ResumedBytes || !value)
                {
                    throw new InvalidOperationException("background hashing is chosen once, before the first write");
                }

                EnsureOpen();
                _spare = new ConcurrentQueue<byte[]>();
                for (int i = 1; i < BackgroundBuffers; i++)
                {
                    _spare.Enqueue(ArrayPool<byte>.Shared.Rent(BufferSize));
                }

                _spareCount = new SemaphoreSlim(BackgroundBuffers - 1, BackgroundBuffers - 1);
                _hashInBackground = true;
            }
        }
    }

    /// <summary>
    /// After <c>_buffer[0, len)</c> went to the file at <paramref name="start"/>: hash it from memory if it continues
    /// the hashed sequence (and swap in a spare buffer), then read back what became contiguous otherwise.
    /// </summary>
    private void HashFlushedLocked(long start, int len)
    {
        if (start == _hashQueuedUpTo)
        {
            // A spare first (back-pressure: at most two buffers wait for the hasher), then hand this one over.
            _spareCount!.Wait();
            _spare!.TryDequeue(out var next);
            var full = _buffer!;
            _buffer = next;
            Chain(static (self, b, _, length) =>
            {
                try
                {
                    self.HashChunk(b!, (int)length);
                }
                finally
                {
                    self._spare!.Enqueue(b!);
                    self._spareCount!.Release();
                }
            }, full, 0, len);
            _hashQueuedUpTo = start + len;
        }

        ReadBackLocked();
    }

    /// <summary>Queues a read-back of [_hashQueuedUpTo, end of the in-order bytes in the file).</summary>
    private void ReadBackLocked()
    {
        long inFile = Received.ContiguousEnd(0);
        if (_bufLen > 0 && _bufStart < inFile)
        {
            inFile = _bufStart; // still in the coalescing buffer, not in the file
        }

        if (inFile <= _hashQueuedUpTo)
        {
            return;
        }

        long from = _hashQueuedUpTo;
        _readBack ??= ArrayPool<byte>.Shared.Rent(BufferSize);
        Chain(static (self, _, offset, end) =>
        {
            var buffer = self._readBack!;
            for (long pos = offset; pos < end && !self._hashStopped && self._hashFault is null;)
            {
                int n = (int)Math.Min(buffer.Length, end - pos);
                int got = ReadableFile.ReadFully(self._handle!, pos, buffer.AsSpan(0, n), self._displayName);
                if (got < n)
                {
                    throw new FileEngineException(FileErrorCode.Io, $"'{self._displayName}': temporary file is shorter than its journal says");
                }

                self.HashChunk(buffer, n);
                pos += n;
            }
        }, null, from, inFile);
        _hashQueuedUpTo = inFile;
    }

    private void HashChunk(byte[] buffer, int length)
    {
        if (!_hashStopped && _hashFault is null)
        {
            _hash.AppendData(buffer, 0, length);
        }
    }

    private void Chain(Action<PartialFile, byte[]?, long, long> work, byte[]? buffer, long a, long b)
    {
        _hashChain = _hashChain.ContinueWith(
            static (_, state) =>
            {
                var (self, w, buf, x, y) = ((PartialFile, Action<PartialFile, byte[]?, long, long>, byte[]?, long, long))state!;
                try
                {
                    w(self, buf, x, y);
                }
                catch (Exception e)
                {
                    self._hashFault ??= e; // later tasks skip hashing but still hand their buffers back
                }
            },
            (this, work, buffer, a, b),
            CancellationToken.None,
            TaskContinuationOptions.None,
            TaskScheduler.Default);
    }

    /// <summary>Waits for every queued hash task; with <paramref name="stop"/> they skip their work (closing).</summary>
    private void DrainHashChainLocked(bool stop)
    {
        if (!_hashInBackground)
        {
            return;
        }

        _hashStopped |= stop;
        _hashChain.Wait();
        if (!stop && _hashFault is { } e)
        {
            throw e as FileEngineException ?? new FileEngineException(FileErrorCode.Io, $"'{_displayName}': hashing failed: {e.Message}");
        }
    }

    private void ReturnHashBuffers()
    {
        if (_spare is not null)
        {
            while (_spare.TryDequeue(out var b))
            {
                ArrayPool<byte>.Shared.Return(b);
            }

            _spareCount!.Dispose();
            _spare = null;
        }

        if (_readBack is { } r)
        {
            _readBack = null;
            ArrayPool<byte>.Shared.Return(r);
        }
    }
}
