using System.Buffers;
using Ferry.Files;
using Ferry.Protocol.Tcp;

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

    /// <summary>Runs until the connection closes or fails (throws). <paramref name="onWritten"/> gets every written item's length.</summary>
    public static async Task RunAsync(
        TcpConnection connection, int stream, PartialFile file, int blockSize, int chunkSize, int writePiece,
        TcpTransferCounters counters, Action<long> onWritten, CancellationToken ct)
    {
        byte[] buffer = ArrayPool<byte>.Shared.Rent(chunkSize);
        byte[] small = new byte[Math.Max(TcpSmallFrames.AckFrameLength, TcpWire.DataPrefixLength)];
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
                if (!TcpSmallFrames.IsValidDataRange(offset, length, file.Size, blockSize))
                {
                    throw new TcpPeerException(TcpErrorCode.BadFrame, $"stream {stream}: DATA [{offset},{offset + length}) is outside the file of {file.Size} bytes or crosses a {blockSize}-byte block");
                }

                long pos = offset;
                int remaining = length;
                while (remaining > 0)
                {
                    int want = Math.Min(chunkSize, remaining);
                    int filled = 0;
                    while (filled < want)
                    {
                        filled += await connection.ReadSomeAsync(buffer.AsMemory(filled, want - filled), ct).ConfigureAwait(false);
                    }

                    for (int done = 0; done < filled; done += writePiece)
                    {
                        int n = Math.Min(writePiece, filled - done);
                        file.Write(pos + done, buffer.AsSpan(done, n));
                    }

                    pos += filled;
                    remaining -= filled;
                }

                counters.AddReceived(length);
                int ackLength = TcpSmallFrames.WriteAck(small, offset, length);
                await connection.SendAsync(small.AsMemory(0, ackLength), ct).ConfigureAwait(false);
                onWritten(length);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
