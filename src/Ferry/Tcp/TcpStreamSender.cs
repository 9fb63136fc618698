using System.Buffers;
using Ferry.Protocol.Tcp;
using Ferry.Timing;

namespace Ferry.Tcp;

/// <summary>
/// The sending end of one data connection: takes items from the shared coordinator, sends each as one DATA frame
/// (straight from the file with sendfile, or read in chunks when a test hook must see the bytes), and reads the
/// receiver's ACKs on the same connection. When the connection dies, its unacknowledged items go back to the pool
/// (the caller does that with <see cref="TcpSendCoordinator.Release"/>).
/// </summary>
internal static class TcpStreamSender
{
    /// <summary>Positional read of the source file; fills the span unless the file ends.</summary>
    public delegate int ReadAt(long offset, Span<byte> destination);

    /// <summary>
    /// Runs until the transfer completes (then returns once the peer closes or <paramref name="ct"/> fires) or the
    /// connection fails (throws). <paramref name="onAcked"/> gets the offset and length of every acknowledged item.
    /// </summary>
    /// <param name="stream">The wire stream index (for messages and test hooks).</param>
    /// <param name="limiter">The transfer's rate limit, shared by its streams (null: none).</param>
    /// <param name="slot">
    /// The scheduler's key for this connection: unique per connection, so a stream index that reconnects never has
    /// its new items released by the old connection's late failure.
    /// </param>
    public static async Task RunAsync(
        TcpConnection connection, int stream, int slot, TcpSendCoordinator coordinator, TcpSendSource source, int chunkSize,
        TcpTransferCounters counters, Action<long, int> onAcked, TcpTestHooks? hooks, CancellationToken ct, TokenBucket? limiter = null)
    {
        using var streamCts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var ackTask = AckLoopAsync(connection, stream, slot, coordinator, onAcked, streamCts);
        try
        {
            // A test that changes data in flight needs it in this process: only then read and send from buffers.
            // Never on TLS: sendfile hands file bytes to the socket directly, around the encryption.
            using var sendfile = source.Handle is { } handle && hooks?.AfterRead is null && !connection.IsEncrypted ? TcpFileSendOperation.TryCreate(handle) : null;
            if (sendfile is not null)
            {
                await SendFileAsync(connection, stream, slot, coordinator, sendfile, chunkSize, counters, hooks, limiter, streamCts.Token).ConfigureAwait(false);
            }
            else
            {
                await SendBufferedAsync(connection, stream, slot, coordinator, source.Read, chunkSize, counters, hooks, limiter, streamCts.Token).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (ackTask.IsFaulted && !ct.IsCancellationRequested)
        {
            // The ACK reader failed first (connection lost, bad frame): that failure is the real cause.
        }
        catch
        {
            // Sending failed: stop the ACK reader too and let it finish before the caller closes the socket.
            await streamCts.CancelAsync().ConfigureAwait(false);
            connection.Abort();
            try
            {
                await ackTask.ConfigureAwait(false);
            }
            catch (Exception e) when (e is TcpPeerException or OperationCanceledException)
            {
            }

            throw;
        }

        // Everything is sent (or the reader failed): the ACK reader decides how this stream ends.
        await ackTask.ConfigureAwait(false);
    }

    // Each item's bytes go from the page cache to the socket (sendfile): no read into this process, no copy out.
    // The frame header rides in front of the first piece, so it never leaves as a small segment of its own.
    private static async Task SendFileAsync(
        TcpConnection connection, int stream, int slot, TcpSendCoordinator coordinator, TcpFileSendOperation operation, int chunkSize,
        TcpTransferCounters counters, TcpTestHooks? hooks, TokenBucket? limiter, CancellationToken ct)
    {
        byte[] header = new byte[TcpWire.DataFrameOverhead];
        while (await coordinator.TakeAsync(slot, ct).ConfigureAwait(false) is { } item)
        {
            await BeforeItemAsync(connection, stream, item, hooks, ct).ConfigureAwait(false);
            int prefix = TcpSmallFrames.WriteDataHeader(header, item.Offset, item.Length);

            // Pieces of one chunk, not the whole block at once: the connection's activity clock (idle watchdogs)
            // then moves at least once per chunk, as with buffered sends.
            for (long pos = item.Offset; pos < item.End;)
            {
                int n = (int)Math.Min(limiter?.Piece(chunkSize) ?? chunkSize, item.End - pos);
                if (limiter is not null)
                {
                    await limiter.WaitAsync(n, ct).ConfigureAwait(false);
                }

                long sent = await connection.SendFileAsync(operation, header, prefix, pos, n, ct).ConfigureAwait(false);
                if (sent < prefix + n)
                {
                    throw new IOException($"source file shrank during the transfer (read ended before {pos + n}, expected {item.End})");
                }

                pos += n;
                prefix = 0;
            }

            counters.AddSent(stream, item.Length);
        }
    }

    private static async Task SendBufferedAsync(
        TcpConnection connection, int stream, int slot, TcpSendCoordinator coordinator, ReadAt read, int chunkSize,
        TcpTransferCounters counters, TcpTestHooks? hooks, TokenBucket? limiter, CancellationToken ct)
    {
        // Two buffers: the next chunk is read from the file while the previous one is still being sent.
        byte[][] buffers = [ArrayPool<byte>.Shared.Rent(TcpWire.DataFrameOverhead + chunkSize), ArrayPool<byte>.Shared.Rent(TcpWire.DataFrameOverhead + chunkSize)];
        int which = 0;
        Task pending = Task.CompletedTask;
        try
        {
            while (await coordinator.TakeAsync(slot, ct).ConfigureAwait(false) is { } item)
            {
                await BeforeItemAsync(connection, stream, item, hooks, ct).ConfigureAwait(false);

                // The frame header rides in front of the first chunk: one send, no small segment on its own.
                var buffer = buffers[which];
                int prefix = TcpSmallFrames.WriteDataHeader(buffer, item.Offset, item.Length);
                for (long pos = item.Offset; pos < item.End;)
                {
                    int n = (int)Math.Min(limiter?.Piece(chunkSize) ?? chunkSize, item.End - pos);
                    int got = read(pos, buffer.AsSpan(prefix, n));
                    if (got < n)
                    {
                        throw new IOException($"source file shrank during the transfer (read ended at {pos + got}, expected {item.End})");
                    }

                    hooks?.AfterRead?.Invoke(pos, buffer.AsSpan(prefix, n));
                    await pending.ConfigureAwait(false);
                    if (limiter is not null)
                    {
                        await limiter.WaitAsync(n, ct).ConfigureAwait(false);
                    }

                    pending = connection.SendAsync(buffer.AsMemory(0, prefix + n), ct).AsTask();
                    which ^= 1;
                    buffer = buffers[which];
                    pos += n;
                    prefix = 0;
                }

                counters.AddSent(stream, item.Length);
            }

            await pending.ConfigureAwait(false);
        }
        catch
        {
            // No buffer may go back to the pool while a send still reads it: end that send first.
            connection.Abort();
            try
            {
                await pending.ConfigureAwait(false);
            }
            catch (Exception e) when (e is TcpPeerException or OperationCanceledException)
            {
            }

            throw;
        }
        finally
        {
            if (pending.IsCompleted)
            {
                ArrayPool<byte>.Shared.Return(buffers[0]);
                ArrayPool<byte>.Shared.Return(buffers[1]);
            }
        }
    }

    private static async ValueTask BeforeItemAsync(TcpConnection connection, int stream, TcpWorkItem item, TcpTestHooks? hooks, CancellationToken ct)
    {
        if (hooks?.BeforeSendItem is { } hook && !await hook(stream, item, ct).ConfigureAwait(false))
        {
            connection.Abort();
            throw TcpPeerException.Lost($"stream {stream} killed by test hook");
        }
    }

    private static async Task AckLoopAsync(TcpConnection connection, int stream, int slot, TcpSendCoordinator coordinator, Action<long, int> onAcked, CancellationTokenSource streamCts)
    {
        await Task.Yield();
        var payload = new byte[12];
        try
        {
            while (true)
            {
                if (coordinator.Completion.IsCompleted)
                {
                    // Nothing more can be acknowledged; wait for the peer to close (or the session to end).
                    await WaitForCloseAsync(connection, streamCts.Token).ConfigureAwait(false);
                    return;
                }

                var header = await connection.ReadHeaderAsync(streamCts.Token).ConfigureAwait(false);
                if (header.Type == TcpFrameType.Error)
                {
                    var buf = new byte[header.Length];
                    await connection.ReadExactlyAsync(buf, streamCts.Token).ConfigureAwait(false);
                    TcpErrorFrame.TryRead(buf, out var error);
                    throw new TcpPeerException(error.Code, error.Message, fromPeer: true);
                }

                if (header.Type != TcpFrameType.Ack)
                {
                    throw TcpPeerException.Violation(TcpDecodeStatus.UnexpectedType, $"stream {stream}: {header.Type} where ACK expected");
                }

                await connection.ReadExactlyAsync(payload, streamCts.Token).ConfigureAwait(false);
                var status = TcpSmallFrames.TryReadAck(payload, out long offset, out int length);
                if (status != TcpDecodeStatus.Ok)
                {
                    throw TcpPeerException.Violation(status, $"stream {stream}: ACK");
                }

                if (!coordinator.Acknowledge(slot, offset, length))
                {
                    throw new TcpPeerException(TcpErrorCode.BadFrame, $"stream {stream}: ACK for [{offset},{offset + length}) which this stream was not sending");
                }

                onAcked(offset, length);
            }
        }
        catch (TcpPeerException e) when (e.ConnectionLost && coordinator.Completion.IsCompleted)
        {
            // The receiver closes data connections once it has everything: that is the normal end.
        }
        catch
        {
            await streamCts.CancelAsync().ConfigureAwait(false);
            throw;
        }
    }

    private static async Task WaitForCloseAsync(TcpConnection connection, CancellationToken ct)
    {
        var scratch = new byte[64];
        while (true)
        {
            // Any frame after completion is unexpected but harmless; a close ends the wait.
            await connection.ReadSomeAsync(scratch, ct).ConfigureAwait(false);
        }
    }
}
