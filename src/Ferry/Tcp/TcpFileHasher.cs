using System.Buffers;
using System.Security.Cryptography;
using Ferry.Files;
using Microsoft.Win32.SafeHandles;

namespace Ferry.Tcp;

/// <summary>
/// Whole-file SHA-256 of a source, read sequentially on its own thread while the streams send blocks in
/// parallel: the hash costs wall time only where it is slower than the network. Cancellable between chunks.
/// </summary>
internal static class TcpFileHasher
{
    private const int ChunkSize = 1 << 20;

    public static Task<byte[]> StartAsync(SafeFileHandle handle, long length, string what, CancellationToken ct) =>
        Task.Factory.StartNew(() => Hash(handle, length, what, ct), ct, TaskCreationOptions.LongRunning, TaskScheduler.Default);

    private static byte[] Hash(SafeFileHandle handle, long length, string what, CancellationToken ct)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        byte[] buffer = ArrayPool<byte>.Shared.Rent(ChunkSize);
        try
        {
            long pos = 0;
            while (pos < length)
            {
                ct.ThrowIfCancellationRequested();
                int n = (int)Math.Min(ChunkSize, length - pos);
                int got = ReadableFile.ReadFully(handle, pos, buffer.AsSpan(0, n), what);
                if (got < n)
                {
                    throw new FileEngineException(FileErrorCode.Io, $"'{what}' shrank during the transfer (expected {length} bytes, ended at {pos + got})");
                }

                hash.AppendData(buffer, 0, n);
                pos += n;
            }

            return hash.GetHashAndReset();
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
