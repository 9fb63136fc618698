using System.Buffers;
using System.Security.Cryptography;
using Microsoft.Win32.SafeHandles;

namespace Ferry.Files;

/// <summary>
/// Sequential read-ahead over a file with a whole-file SHA-256. Reads at or after the current block that
/// continue the sequence are served from a block buffer that is hashed once when loaded; reads elsewhere
/// (retransmissions, resumed transfers starting past 0) go straight to disk and are not hashed.
/// <see cref="CompleteHash"/> hashes whatever the sequential reads never reached. Memory: one block.
/// Not thread-safe: one sender drives it.
/// </summary>
public sealed class HashingFileSource : IDisposable
{
    private readonly SafeFileHandle _handle;
    private readonly bool _ownsHandle;
    private readonly IncrementalHash _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    private byte[]? _block;

    // Invariant: the hash covers [0, _hashedUpTo) and the block holds [_blockStart, _hashedUpTo).
    private long _blockStart;
    private long _hashedUpTo;
    private byte[]? _result;

    public HashingFileSource(SafeFileHandle handle, long length, int blockSize = 1 << 20, bool ownsHandle = false)
    {
        ArgumentNullException.ThrowIfNull(handle);
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        ArgumentOutOfRangeException.ThrowIfLessThan(blockSize, 4096);
        _handle = handle;
        _ownsHandle = ownsHandle;
        Length = length;
        _block = ArrayPool<byte>.Shared.Rent(blockSize);
        BlockSize = blockSize;
    }

    public long Length { get; }

    public int BlockSize { get; }

    /// <summary>Bytes hashed so far (the sequential prefix).</summary>
    public long HashedBytes => _hashedUpTo;

    /// <summary>
    /// Reads up to <paramref name="destination"/>.Length bytes at <paramref name="offset"/>; returns fewer only at
    /// <see cref="Length"/>. Throws <see cref="FileEngineException"/>(Io) when the file shrank under us.
    /// </summary>
    public int Read(long offset, Span<byte> destination)
    {
        var block = _block ?? throw new ObjectDisposedException(nameof(HashingFileSource));
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
                LoadNextBlock(block);
            }

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

        var block = _block ?? throw new ObjectDisposedException(nameof(HashingFileSource));
        while (_hashedUpTo < Length)
        {
            LoadNextBlock(block);
        }

        _result = _hash.GetHashAndReset();
        return (byte[])_result.Clone();
    }

    public void Dispose()
    {
        if (_block is { } b)
        {
            _block = null;
            ArrayPool<byte>.Shared.Return(b);
            _hash.Dispose();
            if (_ownsHandle)
            {
                _handle.Dispose();
            }
        }
    }

    private void LoadNextBlock(byte[] block)
    {
        int n = (int)Math.Min(BlockSize, Length - _hashedUpTo);
        int got = ReadableFile.ReadFully(_handle, _hashedUpTo, block.AsSpan(0, n), "source file");
        if (got < n)
        {
            throw new FileEngineException(FileErrorCode.Io, $"source file shrank during the transfer (expected {Length} bytes, ended at {_hashedUpTo + got})");
        }

        _hash.AppendData(block, 0, n);
        _blockStart = _hashedUpTo;
        _hashedUpTo += n;
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
