using System.Buffers;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using Ferry.Protocol.Tcp;
using Ferry.Timing;

namespace Ferry.Tcp;

/// <summary>
/// One TCP connection of the tcp:// protocol: a socket with a small receive buffer for headers and control
/// frames, exact-length reads, whole-buffer sends, and byte counters. It knows frames only as far as reading a
/// validated header; what a frame means is the session's business. Socket failures become
/// <see cref="TcpPeerException"/> with <see cref="TcpPeerException.ConnectionLost"/> set.
/// Reads and sends may run concurrently (one reader, one sender). After <see cref="UseTls"/> every byte goes through
/// the TLS stream instead of the socket.
/// </summary>
internal sealed class TcpConnection : IDisposable
{
    private const int ReadBufferSize = 16 * 1024;

    private readonly Socket _socket;
    // Plain allocation, one per connection: a pooled array could be handed to someone else while a receive that
    // Dispose is failing still completes into it.
    private readonly byte[] _readBuffer = new byte[ReadBufferSize];
    private int _readPos;
    private int _readLen;
    private int _disposed;

    // TLS: the stream every byte goes through once the handshake is done (null: cleartext), and a lock that keeps a
    // second writer (an ERROR sent while a DATA frame is going out) from interleaving records, which SslStream refuses.
    private SslStream? _tls;
    private TcpTlsTransport? _tlsTransport;
    private SemaphoreSlim? _tlsWriteLock;

    // Client side: the preamble, sent in front of the first frame; and whether Nagle goes back on after that send.
    private byte[]? _pendingPreamble;
    private bool _nagleAfterFirstSend;
    private readonly ShellClock _clock;

    public TcpConnection(Socket socket, TcpConnectionKind kind, bool isServer, ShellClock clock)
    {
        _socket = socket;
        _clock = clock;
        Kind = kind;
        IsServer = isServer;
        RemoteEndPoint = socket.RemoteEndPoint;
        LastActivity = _clock.NowMicros;
    }

    public TcpConnectionKind Kind { get; set; }

    /// <summary>True on the accepting side: frames read here come from the client.</summary>
    public bool IsServer { get; }

    public EndPoint? RemoteEndPoint { get; }

    /// <summary>Bytes read from the socket.</summary>
    public long BytesReceived { get; private set; }

    /// <summary>Bytes written to the socket.</summary>
    public long BytesSent { get; private set; }

    /// <summary>The clock's <see cref="ShellClock.NowMicros"/> at the last completed read or send (for idle watchdogs).</summary>
    public long LastActivity { get; private set; }

    public bool IsDisposed => Volatile.Read(ref _disposed) != 0;

    public Socket Socket => _socket;

    /// <summary>True once the connection runs over TLS.</summary>
    public bool IsEncrypted => _tls is not null;

    /// <summary>
    /// Connects to <paramref name="endPoint"/>, runs the TLS handshake when <paramref name="tls"/> is given (null:
    /// cleartext, <c>--insecure</c>), and returns the connection. The preamble goes out with the first frame sent
    /// (one write, one TLS record): a lone 8-byte write would sit behind Nagle and the peer's delayed ACK.
    /// </summary>
    public static async Task<TcpConnection> ConnectAsync(EndPoint endPoint, TcpConnectionKind kind, ShellClock clock, CancellationToken ct, TcpClientTls? tls = null)
    {
        var socket = new Socket(endPoint.AddressFamily == AddressFamily.Unspecified ? AddressFamily.InterNetworkV6 : endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            // Control frames are small request/answer exchanges; data connections keep Nagle (large writes anyway),
            // but only after their set-up (TLS handshake, preamble + JOIN), which is small request/answer exchanges too.
            socket.NoDelay = true;
            await socket.ConnectAsync(endPoint, ct).ConfigureAwait(false);
        }
        catch (SocketException e)
        {
            socket.Dispose();
            throw TcpPeerException.Lost($"cannot connect to {endPoint}: {Describe(e)}", e);
        }
        catch
        {
            socket.Dispose();
            throw;
        }

        var connection = new TcpConnection(socket, kind, isServer: false, clock);
        var preamble = new byte[TcpWire.PreambleLength];
        TcpPreamble.Write(preamble, kind);
        connection._pendingPreamble = preamble;
        // Over TLS, Nagle stays off: SslStream already writes whole records, and after the handshake's ping-pong
        // Linux delays ACKs, so Nagle would hold each small frame (JOINED, a last DATA, ACK) for ~40 ms.
        connection._nagleAfterFirstSend = kind == TcpConnectionKind.Data && tls is null;
        try
        {
            if (tls is not null)
            {
                connection.UseTls(await tls.AuthenticateAsync(socket, ct).ConfigureAwait(false));
            }
        }
        catch
        {
            connection.Dispose();
            throw;
        }

        return connection;
    }

    /// <summary>From now on every read and send goes through <paramref name="tls"/> (an authenticated SslStream over this socket).</summary>
    public void UseTls((SslStream Tls, TcpTlsTransport Transport) tls)
    {
        _tlsWriteLock = new SemaphoreSlim(1, 1);
        _tlsTransport = tls.Transport;
        _tls = tls.Tls;
    }

    /// <summary>
    /// The first byte the peer sent, left in the socket (nothing is consumed): tells a TLS ClientHello
    /// (<see cref="TcpWire.TlsHandshakeRecord"/>) from a cleartext preamble. Only before any read.
    /// </summary>
    public async ValueTask<byte> PeekFirstByteAsync(CancellationToken ct)
    {
        var one = new byte[1];
        int n;
        try
        {
            n = await _socket.ReceiveAsync(one, SocketFlags.Peek, ct).ConfigureAwait(false);
        }
        catch (SocketException e)
        {
            throw TcpPeerException.Lost($"connection to {RemoteEndPoint} lost: {Describe(e)}", e);
        }
        catch (ObjectDisposedException e)
        {
            throw TcpPeerException.Lost($"connection to {RemoteEndPoint} closed", e);
        }

        return n == 0 ? throw TcpPeerException.Lost($"connection to {RemoteEndPoint} closed by peer") : one[0];
    }

    /// <summary>Fills <paramref name="destination"/> completely (buffered bytes first).</summary>
    public async ValueTask ReadExactlyAsync(Memory<byte> destination, CancellationToken ct)
    {
        int done = 0;
        while (done < destination.Length)
        {
            done += await ReadSomeAsync(destination[done..], ct).ConfigureAwait(false);
        }
    }

    /// <summary>Reads at least one byte into <paramref name="destination"/>; end of stream is a lost connection.</summary>
    public async ValueTask<int> ReadSomeAsync(Memory<byte> destination, CancellationToken ct)
    {
        if (_readLen > _readPos)
        {
            int n = Math.Min(destination.Length, _readLen - _readPos);
            _readBuffer.AsMemory(_readPos, n).CopyTo(destination);
            _readPos += n;
            return n;
        }

        // Small reads (headers, ACKs) go through the buffer so one syscall serves several frames;
        // large reads (DATA payloads) go straight into the caller's memory.
        if (destination.Length < ReadBufferSize / 2)
        {
            int got = await ReceiveAsync(_readBuffer.AsMemory(0, ReadBufferSize), ct).ConfigureAwait(false);
            _readPos = 0;
            _readLen = got;
            int n = Math.Min(destination.Length, got);
            _readBuffer.AsMemory(0, n).CopyTo(destination);
            _readPos = n;
            return n;
        }

        return await ReceiveAsync(destination, ct).ConfigureAwait(false);
    }

    /// <summary>Reads a frame header and checks it against what may arrive on this connection.</summary>
    public async ValueTask<TcpFrameHeader> ReadHeaderAsync(CancellationToken ct)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(TcpWire.FrameHeaderLength);
        try
        {
            await ReadExactlyAsync(buffer.AsMemory(0, TcpWire.FrameHeaderLength), ct).ConfigureAwait(false);
            var status = TcpFrameHeader.TryRead(buffer, Kind, fromClient: IsServer, out var header);
            if (status != TcpDecodeStatus.Ok)
            {
                throw TcpPeerException.Violation(status, $"frame header 0x{buffer[0]:x2}");
            }

            return header;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>
    /// Reads a whole control payload (already bounded by the header check) into a pooled array the caller returns.
    /// An ERROR frame from the peer is turned into a <see cref="TcpPeerException"/> here.
    /// </summary>
    public async ValueTask<(TcpFrameHeader Header, byte[] Payload)> ReadFrameAsync(CancellationToken ct)
    {
        var header = await ReadHeaderAsync(ct).ConfigureAwait(false);
        var payload = ArrayPool<byte>.Shared.Rent(Math.Max(1, header.Length));
        try
        {
            await ReadExactlyAsync(payload.AsMemory(0, header.Length), ct).ConfigureAwait(false);
        }
        catch
        {
            ArrayPool<byte>.Shared.Return(payload);
            throw;
        }

        if (header.Type == TcpFrameType.Error)
        {
            var status = TcpErrorFrame.TryRead(payload.AsSpan(0, header.Length), out var error);
            ArrayPool<byte>.Shared.Return(payload);
            throw status == TcpDecodeStatus.Ok
                ? new TcpPeerException(error.Code, error.Message, fromPeer: true)
                : TcpPeerException.Violation(status, "ERROR frame");
        }

        return (header, payload);
    }

    /// <summary>Sends the whole buffer.</summary>
    public async ValueTask SendAsync(ReadOnlyMemory<byte> data, CancellationToken ct)
    {
        if (_pendingPreamble is { } preamble)
        {
            _pendingPreamble = null;
            await SendAsync((byte[])[.. preamble, .. data.Span], ct).ConfigureAwait(false);
            if (_nagleAfterFirstSend)
            {
                SetNoDelay(false);
            }

            return;
        }

        if (_tls is { } tls)
        {
            await SendTlsAsync(tls, data, ct).ConfigureAwait(false);
            return;
        }

        try
        {
            while (!data.IsEmpty)
            {
                int n = await _socket.SendAsync(data, SocketFlags.None, ct).ConfigureAwait(false);
                data = data[n..];
                BytesSent += n;
                LastActivity = _clock.NowMicros;
            }
        }
        catch (SocketException e)
        {
            throw TcpPeerException.Lost($"connection to {RemoteEndPoint} lost: {Describe(e)}", e);
        }
        catch (ObjectDisposedException e)
        {
            throw TcpPeerException.Lost($"connection to {RemoteEndPoint} closed", e);
        }
    }

    private async ValueTask SendTlsAsync(SslStream tls, ReadOnlyMemory<byte> data, CancellationToken ct)
    {
        var writeLock = _tlsWriteLock!;
        try
        {
            await writeLock.WaitAsync(ct).ConfigureAwait(false);
        }
        catch (ObjectDisposedException e)
        {
            throw TcpPeerException.Lost($"connection to {RemoteEndPoint} closed", e);
        }

        try
        {
            // One frame's records leave in as few socket sends as the transport's buffer allows.
            var transport = _tlsTransport!;
            transport.BeginGather();
            try
            {
                await tls.WriteAsync(data, ct).ConfigureAwait(false);
                await transport.EndGatherAsync(ct).ConfigureAwait(false);
            }
            catch
            {
                // Half a frame must never go out in front of a later one (an ERROR after a failed send).
                transport.DiscardGathered();
                throw;
            }

            BytesSent += data.Length;
            LastActivity = _clock.NowMicros;
        }
        catch (IOException e)
        {
            throw TcpPeerException.Lost($"connection to {RemoteEndPoint} lost: {Describe(e)}", e);
        }
        catch (ObjectDisposedException e)
        {
            throw TcpPeerException.Lost($"connection to {RemoteEndPoint} closed", e);
        }
        finally
        {
            writeLock.Release();
        }
    }

    private void SetNoDelay(bool value)
    {
        try
        {
            _socket.NoDelay = value;
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            // Only a latency tweak; a dead socket reports itself on the next read or send.
        }
    }

    /// <summary>
    /// Sends a prefix and then a file range with <paramref name="operation"/> (sendfile). Returns the bytes sent;
    /// fewer than asked means the file ended early, and the connection is then out of step (the caller aborts it).
    /// Cancelling aborts the connection: a send cut short leaves nothing usable on it anyway.
    /// </summary>
    public async ValueTask<long> SendFileAsync(TcpFileSendOperation operation, byte[] prefix, int prefixLength, long offset, int count, CancellationToken ct)
    {
        if (_tls is not null || _pendingPreamble is not null)
        {
            // sendfile writes to the socket itself: on TLS it would put file bytes on the wire in clear.
            throw new InvalidOperationException("sendfile on a TLS connection, or before the preamble was sent");
        }

        ct.ThrowIfCancellationRequested();
        long sent;
        using (ct.UnsafeRegister(static c => ((TcpConnection)c!).Abort(), this))
        {
            try
            {
                sent = await operation.SendAsync(_socket, prefix, prefixLength, offset, count).ConfigureAwait(false);
            }
            catch (SocketException e)
            {
                ct.ThrowIfCancellationRequested();
                throw TcpPeerException.Lost($"connection to {RemoteEndPoint} lost: {Describe(e)}", e);
            }
            catch (ObjectDisposedException e)
            {
                ct.ThrowIfCancellationRequested();
                throw TcpPeerException.Lost($"connection to {RemoteEndPoint} closed", e);
            }
        }

        BytesSent += sent;
        LastActivity = _clock.NowMicros;
        return sent;
    }

    /// <summary>Best effort: sends an ERROR frame within <paramref name="timeout"/>, ignoring failures.</summary>
    public async Task TrySendErrorAsync(TcpErrorCode code, string message, TimeSpan timeout)
    {
        if (IsDisposed)
        {
            return;
        }

        var buffer = new byte[TcpErrorFrame.MaxFrameLength];
        int n = new TcpErrorFrame(code, message).Write(buffer);
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await SendAsync(buffer.AsMemory(0, n), cts.Token).ConfigureAwait(false);
            _socket.Shutdown(SocketShutdown.Send);
        }
        catch (Exception e) when (e is TcpPeerException or OperationCanceledException or SocketException or ObjectDisposedException)
        {
            // The peer is gone or not reading; closing is all that is left.
        }
    }

    /// <summary>Closes with a reset (no lingering): used to kill a misbehaving or abandoned connection at once.</summary>
    public void Abort()
    {
        if (IsDisposed)
        {
            return;
        }

        try
        {
            _socket.LingerState = new LingerOption(true, 0);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
        }

        Dispose();
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        _socket.Dispose();

        // After the socket: a pending TLS read or write fails on the closed socket rather than on a freed TLS context.
        _tls?.Dispose();
    }

    public override string ToString() => $"{Kind} {RemoteEndPoint}";

    internal static string Describe(SocketException e) => e.SocketErrorCode switch
    {
        SocketError.ConnectionRefused => "connection refused",
        SocketError.ConnectionReset => "connection reset by peer",
        SocketError.TimedOut => "timed out",
        SocketError.HostUnreachable or SocketError.NetworkUnreachable => "unreachable",
        SocketError.OperationAborted => "closed",
        _ => e.SocketErrorCode.ToString(),
    };

    // A TLS stream reports socket failures as IOException around the SocketException.
    internal static string Describe(IOException e) => e.InnerException is SocketException s ? Describe(s) : e.Message;

    private async ValueTask<int> ReceiveAsync(Memory<byte> destination, CancellationToken ct)
    {
        int n;
        try
        {
            n = _tls is { } tls
                ? await tls.ReadAsync(destination, ct).ConfigureAwait(false)
                : await _socket.ReceiveAsync(destination, SocketFlags.None, ct).ConfigureAwait(false);
        }
        catch (SocketException e)
        {
            throw TcpPeerException.Lost($"connection to {RemoteEndPoint} lost: {Describe(e)}", e);
        }
        catch (IOException e)
        {
            throw TcpPeerException.Lost($"connection to {RemoteEndPoint} lost: {Describe(e)}", e);
        }
        catch (System.Security.Authentication.AuthenticationException e)
        {
            // A TLS record that does not authenticate: tampering or a broken peer; the stream is unusable either way.
            throw TcpPeerException.Lost($"connection to {RemoteEndPoint} broken: {e.Message}", e);
        }
        catch (ObjectDisposedException e)
        {
            throw TcpPeerException.Lost($"connection to {RemoteEndPoint} closed", e);
        }

        if (n == 0)
        {
            throw TcpPeerException.Lost($"connection to {RemoteEndPoint} closed by peer");
        }

        BytesReceived += n;
        LastActivity = _clock.NowMicros;
        return n;
    }
}
