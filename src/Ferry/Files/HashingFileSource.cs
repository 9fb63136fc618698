using System.Buffers;
using System.Collections.Concurrent;
using System.Security.Cryptography;
using Microsoft.Win32.SafeHandles;

namespace Ferry.Files;

/// <summary>
/// Sequential read-ahead over a file with a whole-file SHA-256. Reads at or after the current block that
/// continue the sequence are served from a block buffer that is hashed once when loaded; reads elsewhere
/// (retransmissions, resumed transfers starting past 0) go straight to disk and are not hashed.
/// <see cref="CompleteHash"/> hashes whatever the sequential reads never reached. Memory: one block, or
/// <see cref="BackgroundBlocks"/> with background hashing.
/// With <c>backgroundHashing</c>, each loaded block is hashed on the thread pool (in order, one block at a time)
/// while the reader goes on: SHA-256 is about half of a sender's CPU, and a sending loop that also hashes leaves
/// the machine's other cores idle. Not thread-safe: one sender drives it.
/// </summary>
public sealed class HashingFileSource : IDisposable
{
    /// <summary>Blocks in rotation with background hashing: one being read from, the others queued for the hasher.</summary>
    public const int BackgroundBlocks = 4;

    private readonly SafeFileHandle _handle;
    private readonly bool _ownsHandle;
    private readonly IncrementalHash _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    private readonly bool _background;
    private readonly ConcurrentQueue<byte[]>? _free;
    private readonly SemaphoreSlim? _freeCount;
    private Task _hashTail = Task.CompletedTask;
    private byte[]? _block;
    private bool _disposed;

    // Invariant: the hash covers (or, in the background, will cover) [0, _hashedUpTo), and the block holds
    // [_blockStart, _hashedUpTo).
    private long _blockStart;
    private long _hashedUpTo;
    private byte[]? _result;

    public HashingFileSource(SafeFileHandle handle, long length, int blockSize = 1 << 20, bool ownsHandle = false, bool backgroundHashing = false)
    {
        ArgumentNullException.ThrowIfNull(handle);
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        ArgumentOutOfRangeException.ThrowIfLessThan(blockSize, 4096);
        _handle = handle;
        _ownsHandle = ownsHandle;
        Length = length;
        BlockSize = blockSize;
        // Background hashing only pays when there is more than one block to hash.
        _background = backgroundHashing && length > blockSize;
        if (_background)
        {
            _free = new ConcurrentQueue<byte[]>();
            for (int i = 0; i < BackgroundBlocks; i++)
            {
                _free.Enqueue(ArrayPool<byte>.Shared.Rent(blockSize));
            }

            _freeCount = new SemaphoreSlim(BackgroundBlocks, BackgroundBlocks);
        }
        else
        {
            _block = ArrayPool<byte>.Shared.Rent(blockSize);
        }
    }

    public long Length { get; }

    public int BlockSize { get; }

    /// <summary>Bytes read in sequence so far: hashed, or (in the background) queued for hashing.</summary>
    public long HashedBytes => _hashedUpTo;

    /// <summary>
    /// Reads up to <paramref name="destination"/>.Length bytes at <paramref name="offset"/>; returns fewer only at
    /// <see cref="Length"/>. Throws <see cref="FileEngineException"/>(Io) when the file shrank under us.
    /// </summary>
    public int Read(long offset, Span<byte> destination)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        if (offset >= Length || destination.IsEmpty)
        {
            return 0;
        }

        int want = (int)Math.Min(destination.Length, Length - offset);
        destination = destination[..want];
        if (_result is not null || offset < _blockStart || offset > _hashedUpTo)
        {
            return ReadDirect(offset, destination);
        }

        // Sequential: serve from the block, loading (and hashing) following blocks as the read crosses them.
        int done = 0;
        while (done < want)
        {
            long pos = offset + done;
            if (pos == _hashedUpTo)
            {
                LoadNextBlock();
            }

            var block = _block!;
            int inBlock = (int)(pos - _blockStart);
            int n = Math.Min(want - done, (int)(_hashedUpTo - pos));
            block.AsSpan(inBlock, n).CopyTo(destination[done..]);
            done += n;
        }

        return done;
    }

    /// <summary>Hashes the part of the file not yet hashed (reading it from disk) and returns the SHA-256. Idempotent.</summary>
    public byte[] CompleteHash()
    {
        if (_result is not null)
        {
            return (byte[])_result.Clone();
        }

        ObjectDisposedException.ThrowIf(_disposed, this);
        while (_hashedUpTo < Length)
        {
            LoadNextBlock();
        }

        WaitForHasher();
        _result = _hash.GetHashAndReset();
        return (byte[])_result.Clone();
    }

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        try
        {
            WaitForHasher(); // the hasher may still hold a block and the hash
        }
        catch (Exception e) when (e is ObjectDisposedException or CryptographicException)
        {
        }

        if (_background)
        {
            while (_free!.TryDequeue(out var b))
            {
                ArrayPool<byte>.Shared.Return(b);
            }

            _freeCount!.Dispose();
        }
        else if (_block is { } b)
        {
            ArrayPool<byte>.Shared.Return(b);
        }

        _block = null;
        _hash.Dispose();
        if (_ownsHandle)
        {
            _handle.Dispose();
        }
    }

    private void LoadNextBlock()
    {
        int n = (int)Math.Min(BlockSize, Length - _hashedUpTo);
        byte[] block;
        if (_background)
        {
            // A block the hasher is done with. The one being read from so far is abandoned now, so it may be
            // handed out again once hashed.
            _freeCount!.Wait();
            _free!.TryDequeue(out block!);
        }
        else
        {
            block = _block!;
        }

        int got = ReadableFile.ReadFully(_handle, _hashedUpTo, block.AsSpan(0, n), "source file");
        if (got < n)
        {
            if (_background)
            {
                ReturnBlock(block);
            }

            throw new FileEngineException(FileErrorCode.Io, $"source file shrank during the transfer (expected {Length} bytes, ended at {_hashedUpTo + got})");
        }

        if (_background)
        {
            // Chained: blocks are hashed strictly in file order, one at a time, off this thread.
            _hashTail = _hashTail.ContinueWith(
                static (previous, state) =>
                {
                    var (self, b, length) = ((HashingFileSource, byte[], int))state!;
                    try
                    {
                        previous.GetAwaiter().GetResult(); // a failed block fails every later one: no hash with a gap
                        self._hash.AppendData(b, 0, length);
                    }
                    finally
                    {
                        self.ReturnBlock(b); // always, or the reader would wait for a block forever
                    }
                },
                (this, block, n),
                CancellationToken.None,
                TaskContinuationOptions.None,
                TaskScheduler.Default);
        }
        else
        {
            _hash.AppendData(block, 0, n);
        }

        _block = block;
        _blockStart = _hashedUpTo;
        _hashedUpTo += n;
    }

    private void ReturnBlock(byte[] block)
    {
        _free!.Enqueue(block);
        _freeCount!.Release();
    }

    private void WaitForHasher()
    {
        if (_background)
        {
            _hashTail.GetAwaiter().GetResult();
        }
    }

    private int ReadDirect(long offset, Span<byte> destination)
    {
        int got = ReadableFile.ReadFully(_handle, offset, destination, "source file");
        if (got < destination.Length)
        {
            throw new FileEngineException(FileErrorCode.Io, $"source file shrank during the transfer (expected {Length} bytes, ended at {offset + got})");
        }

        return got;
    }
}
