using System.Buffers;
using Ferry.Files;
using Ferry.Protocol.Tcp;
using Ferry.Timing;

namespace Ferry.Tcp;

/// <summary>
/// The receiving end of one data connection: reads DATA frames, checks each range against the session (inside
/// the file, inside one block), writes the bytes at their offset through the file engine, and acknowledges.
/// Memory is one chunk buffer whatever the block size.
/// </summary>
internal static class TcpStreamReceiver
{
    /// <summary>
    /// With several streams, writes reach <see cref="PartialFile"/> in pieces below its coalescing threshold: each
    /// flush lets it advance its SHA-256 over data that arrived out of order, so the hash keeps up during the
    /// transfer instead of re-reading most of the file at the end. One stream delivers in order, and in-order
    /// data is hashed straight from the write, so it writes whole chunks (no copy).
    /// </summary>
    public const int MultiStreamWritePiece = 256 * 1024;

    /// <summary>The write piece size for a transfer over <paramref name="streams"/> streams.</summary>
    public static int WritePieceFor(int streams, int chunkSize) => streams > 1 ? Math.Min(MultiStreamWritePiece, chunkSize) : chunkSize;

    /// <summary>Where received bytes go: a positional write.</summary>
    public delegate void WriteAt(long offset, ReadOnlySpan<byte> data);

    /// <summary>Runs until the connection closes or fails (throws). <paramref name="onWritten"/> gets every written item's length.</summary>
    public static Task RunAsync(
        TcpConnection connection, int stream, PartialFile file, int blockSize, int chunkSize, int writePiece,
        TcpTransferCounters counters, Action<long> onWritten, CancellationToken ct, TokenBucket? limiter = null) =>
        RunAsync(connection, stream, file.Size, file.Write, blockSize, chunkSize, writePiece, counters, onWritten, ct, limiter);

    /// <summary>
    /// Runs until the connection closes or fails (throws), writing into a byte space of <paramref name="size"/> bytes
    /// (one file, or a job's files laid end to end) through <paramref name="write"/>. With <paramref name="limiter"/> (the
    /// transfer's rate limit, shared by its streams), the bytes are read no faster than it allows: TCP's own flow
    /// control then holds the sender to it, whatever the sender knows of the limit.
    /// </summary>
    public static async Task RunAsync(
        TcpConnection connection, int stream, long size, WriteAt write, int blockSize, int chunkSize, int writePiece,
        TcpTransferCounters counters, Action<long> onWritten, CancellationToken ct, TokenBucket? limiter = null)
    {
        // Two buffers: the next chunk of a frame is received while the previous one is written and hashed.
        byte[][] buffers = [ArrayPool<byte>.Shared.Rent(chunkSize), ArrayPool<byte>.Shared.Rent(chunkSize)];
        byte[] small = new byte[Math.Max(TcpSmallFrames.AckFrameLength, TcpWire.DataPrefixLength)];
        Task<int>? next = null;
        try
        {
            while (true)
            {
                var header = await connection.ReadHeaderAsync(ct).ConfigureAwait(false);
                if (header.Type == TcpFrameType.Error)
                {
                    var payload = new byte[header.Length];
                    await connection.ReadExactlyAsync(payload, ct).ConfigureAwait(false);
                    TcpErrorFrame.TryRead(payload, out var error);
                    throw new TcpPeerException(error.Code, error.Message, fromPeer: true);
                }

                if (header.Type != TcpFrameType.Data)
                {
                    throw TcpPeerException.Violation(TcpDecodeStatus.UnexpectedType, $"stream {stream}: {header.Type} where DATA expected");
                }

                await connection.ReadExactlyAsync(small.AsMemory(0, TcpWire.DataPrefixLength), ct).ConfigureAwait(false);
                long offset = TcpSmallFrames.ReadDataOffset(small);
                int length = header.Length - TcpWire.DataPrefixLength;
                if (!TcpSmallFrames.IsValidDataRange(offset, length, size, blockSize))
                {
                    throw new TcpPeerException(TcpErrorCode.BadFrame, $"stream {stream}: DATA [{offset},{offset + length}) is outside the file of {size} bytes or crosses a {blockSize}-byte block");
                }

                long pos = offset;
                int which = 0;
                int piece = limiter?.Piece(chunkSize) ?? chunkSize;
                int requested = Math.Min(piece, length);
                next = FillAsync(connection, buffers[which].AsMemory(0, requested), ct);
                for (int remaining = length; remaining > 0;)
                {
                    int filled = await next.ConfigureAwait(false);
                    var full = buffers[which];
                    remaining -= filled;
                    which ^= 1;
                    if (limiter is not null)
                    {
                        await limiter.WaitAsync(filled, ct).ConfigureAwait(false);
                        piece = limiter.Piece(chunkSize);
                    }

                    if (remaining > 0)
                    {
                        next = FillAsync(connection, buffers[which].AsMemory(0, Math.Min(piece, remaining)), ct);
                    }

                    for (int done = 0; done < filled; done += writePiece)
                    {
                        int n = Math.Min(writePiece, filled - done);
                        write(pos + done, full.AsSpan(done, n));
                    }

                    pos += filled;
                }

                counters.AddReceived(stream, length);
                int ackLength = TcpSmallFrames.WriteAck(small, offset, length);
                await connection.SendAsync(small.AsMemory(0, ackLength), ct).ConfigureAwait(false);
                onWritten(length);
            }
        }
        finally
        {
            // A receive may still be filling a buffer when a write failed; such buffers are left to the GC.
            if (next is null || next.IsCompleted)
            {
                ArrayPool<byte>.Shared.Return(buffers[0]);
                ArrayPool<byte>.Shared.Return(buffers[1]);
            }
        }
    }

    private static async Task<int> FillAsync(TcpConnection connection, Memory<byte> destination, CancellationToken ct)
    {
        int filled = 0;
        while (filled < destination.Length)
        {
            filled += await connection.ReadSomeAsync(destination[filled..], ct).ConfigureAwait(false);
        }

        return filled;
    }
}
