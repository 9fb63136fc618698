using System.Net;
using System.Net.Sockets;
using Ferry.Protocol.Tftp;
using Ferry.Timing;

namespace Ferry.Tftp;

/// <summary>
/// The shell loop around one <see cref="TftpSession"/> and its own UDP socket (its transfer ID): wait for a
/// datagram or the next wake-up, feed it, then drain events and transmits. Datagrams from any other source than
/// the peer's transfer ID get ERROR 5 and are otherwise ignored (RFC 1350). Blocking calls on a dedicated thread:
/// one poll and one receive per datagram, no allocation per packet.
/// </summary>
internal sealed class TftpSessionRunner
{
    /// <summary>Longest single wait, so cancellation and pokes are noticed promptly.</summary>
    private const int MaxWaitMicros = 200_000;

    private readonly Socket _socket;
    private readonly ShellClock _clock;
    private readonly byte[] _receive = new byte[TftpLimits.MaxPacketLength + 1];
    private readonly byte[] _transmit = new byte[TftpLimits.MaxPacketLength];
    private readonly SocketAddress _from;
    private readonly IPAddress? _lockToAddress;
    private SocketAddress _peer;
    private bool _peerLocked;
    private int _pokes;

    /// <param name="socket">The session's own socket (bound, unconnected).</param>
    /// <param name="peer">Where to send. A server knows the client's transfer ID from its request.</param>
    /// <param name="lockToAddress">
    /// Client only: the server's address. The first reply from that address, whatever its port, fixes the server's
    /// transfer ID; until then requests go to <paramref name="peer"/> (port 69).
    /// </param>
    public TftpSessionRunner(Socket socket, SocketAddress peer, ShellClock clock, IPAddress? lockToAddress = null)
    {
        _socket = socket;
        _peer = peer;
        _clock = clock;
        _lockToAddress = lockToAddress;
        _peerLocked = lockToAddress is null;
        _from = new SocketAddress(socket.AddressFamily);
    }

    /// <summary>Client only: give up when nothing came from the server this many microseconds after the start (0: never).</summary>
    public long ConnectTimeoutMicros { get; init; }

    /// <summary>True when the run ended because the server never answered within <see cref="ConnectTimeoutMicros"/>.</summary>
    public bool NoAnswer { get; private set; }

    /// <summary>The ERROR text sent when the run is cancelled (a server: it is shutting down).</summary>
    public string CancelMessage { get; init; } = "transfer cancelled";

    /// <summary>The first exception thrown by a file operation; the session was aborted with an ERROR for it.</summary>
    public Exception? LocalError { get; private set; }

    /// <summary>The peer's transfer ID once known.</summary>
    public EndPoint? PeerEndPoint => _peerLocked ? SocketAddresses.ToEndPoint(_peer) : null;

    /// <summary>Datagrams sent by strangers (another source than the peer's transfer ID).</summary>
    public long ForeignDatagrams { get; private set; }

    /// <summary>Thread-safe: asks the loop to call the poke handler (a repeated request arrived at the listener).</summary>
    public void Poke() => Interlocked.Increment(ref _pokes);

    /// <summary>
    /// Runs <paramref name="session"/> until it finishes. <paramref name="onEvent"/> and <paramref name="onPoke"/> run on
    /// this loop (they may call the session). On cancellation the session is aborted (ERROR sent) and
    /// <see cref="OperationCanceledException"/> is thrown.
    /// </summary>
    public void Run(TftpSession session, Action<TftpEvent, long> onEvent, Action<long>? onPoke, Action<long>? onProgress, CancellationToken cancellationToken)
    {
        long connectDeadline = ConnectTimeoutMicros > 0 ? _clock.NowMicros + ConnectTimeoutMicros : long.MaxValue;
        while (true)
        {
            Drain(session, onEvent);
            if (session.IsFinished)
            {
                return;
            }

            if (cancellationToken.IsCancellationRequested)
            {
                session.Abort(TftpErrorCode.NotDefined, CancelMessage);
                Drain(session, onEvent);
                cancellationToken.ThrowIfCancellationRequested();
            }

            long now = _clock.NowMicros;
            if (!_peerLocked && now >= connectDeadline)
            {
                NoAnswer = true;
                return;
            }

            if (Volatile.Read(ref _pokes) > 0)
            {
                Interlocked.Exchange(ref _pokes, 0);
                onPoke?.Invoke(now);
                continue;
            }

            long wait = session.NextWakeupMicros - now;
            if (wait <= 0)
            {
                try
                {
                    session.HandleTimeout(now);
                }
                catch (Exception ex) when (IsLocalError(ex))
                {
                    AbortFor(session, ex);
                }

                continue;
            }

            if (_socket.Available == 0 && !_socket.Poll((int)Math.Min(wait, MaxWaitMicros), SelectMode.SelectRead))
            {
                continue;
            }

            int n;
            try
            {
                n = _socket.ReceiveFrom(_receive, SocketFlags.None, _from);
            }
            catch (SocketException e) when (e.SocketErrorCode is SocketError.ConnectionReset or SocketError.ConnectionRefused
                or SocketError.HostUnreachable or SocketError.NetworkUnreachable or SocketError.MessageSize)
            {
                // ICMP errors from an earlier send, or an oversized datagram: nothing to feed the session.
                continue;
            }

            if (!AcceptSource())
            {
                continue;
            }

            now = _clock.NowMicros;
            try
            {
                session.HandleDatagram(_receive.AsSpan(0, n), now);
            }
            catch (Exception ex) when (IsLocalError(ex))
            {
                AbortFor(session, ex);
            }

            onProgress?.Invoke(now);
        }
    }

    private bool AcceptSource()
    {
        if (_peerLocked)
        {
            if (_from.Equals(_peer))
            {
                return true;
            }
        }
        else
        {
            var endpoint = SocketAddresses.ToEndPoint(_from);
            if (SocketAddresses.Normalize(endpoint.Address).Equals(SocketAddresses.Normalize(_lockToAddress!)))
            {
                // The server's first reply: its source port is the transfer ID for the rest of the transfer.
                _peer = SocketAddresses.Copy(_from);
                _peerLocked = true;
                return true;
            }
        }

        // RFC 1350: a packet from an unknown transfer ID gets ERROR 5 and does not disturb the transfer.
        ForeignDatagrams++;
        int len = TftpPacketWriter.WriteError(_transmit, TftpErrorCode.UnknownTransferId, "unknown transfer ID");
        Send(_transmit.AsSpan(0, len), _from);
        return false;
    }

    private void Drain(TftpSession session, Action<TftpEvent, long> onEvent)
    {
        while (true)
        {
            bool handled = false;
            while (session.TryPollEvent(out var e))
            {
                handled = true;
                try
                {
                    onEvent(e, _clock.NowMicros);
                }
                catch (Exception ex) when (IsLocalError(ex))
                {
                    AbortFor(session, ex);
                }
            }

            int n;
            try
            {
                n = session.PollTransmit(_transmit);
            }
            catch (Exception ex) when (IsLocalError(ex))
            {
                // The source failed to read a block: the abort queues an ERROR for the next round.
                AbortFor(session, ex);
                continue;
            }

            if (n > 0)
            {
                Send(_transmit.AsSpan(0, n), _peer);
            }
            else if (!handled)
            {
                return;
            }
        }
    }

    private static bool IsLocalError(Exception ex) => ex is IOException or UnauthorizedAccessException;

    /// <summary>A file error (source, sink or event handler) ends the session with the matching ERROR packet.</summary>
    private void AbortFor(TftpSession session, Exception ex)
    {
        LocalError ??= ex;
        var (code, message) = TftpErrorMapping.ToTftp(ex);
        session.Abort(code, message);
    }

    private void Send(ReadOnlySpan<byte> datagram, SocketAddress to)
    {
        try
        {
            _socket.SendTo(datagram, SocketFlags.None, to);
        }
        catch (SocketException e) when (e.SocketErrorCode is SocketError.NoBufferSpaceAvailable or SocketError.WouldBlock
            or SocketError.HostUnreachable or SocketError.NetworkUnreachable or SocketError.ConnectionRefused or SocketError.ConnectionReset
            or SocketError.MessageSize or SocketError.AddressNotAvailable)
        {
            // Lost like any datagram; the retransmission timer recovers.
        }
    }
}
