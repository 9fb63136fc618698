using System.Net;
using System.Net.Sockets;
using Ferry.Protocol.Relay;
using Ferry.Protocol.Security;
using Ferry.Protocol.Udp;
using Ferry.Udp;

namespace Ferry.Relay;

/// <summary>
/// Moves datagrams from the relay core to the socket in batches: under the core's lock the caller copies up to one batch
/// (<see cref="FillLocked"/>), outside it sends them with one sendmmsg (<see cref="Flush"/>), so the lock is never held
/// across a syscall. One per thread; several may share the socket.
/// </summary>
internal sealed class RelaySender : IDisposable
{
    /// <summary>Datagrams per batch: one sendmmsg call.</summary>
    public const int BatchSize = UdpChannel.BatchSize;

    private const int MaxCachedAddresses = 4096;
    private readonly UdpChannel _channel;
    private readonly Dictionary<IPEndPoint, PeerAddress> _addresses = new();
    private readonly EnvelopeServer<IPEndPoint>? _envelope;
    private readonly bool _allowPlain;
    private readonly byte[] _inner;
    private int _pending;

    /// <param name="envelope">Seals datagrams to peers that have an envelope session; others go in cleartext only when <paramref name="allowPlain"/>.</param>
    /// <param name="maxDatagram">Largest relay datagram the core may produce (its MaxDeliverDatagram).</param>
    public RelaySender(Socket socket, EnvelopeServer<IPEndPoint>? envelope = null, bool allowPlain = true, int maxDatagram = RelayWire.MaxDatagram)
    {
        maxDatagram = Math.Clamp(maxDatagram, RelayWire.MaxDatagram, RelayWire.MaxLargeDatagram);
        _inner = new byte[maxDatagram];

        // No segmentation offload: DELIVERs have uneven sizes, and a reader's socket should see plain datagrams.
        _channel = new UdpChannel(socket, Math.Max(Envelope.HelloSize, maxDatagram) + Envelope.Overhead, allowOffload: false);
        _envelope = envelope;
        _allowPlain = allowPlain;
    }

    /// <summary>The channel, for receiving on the thread that owns this sender.</summary>
    public UdpChannel Channel => _channel;

    /// <summary>Copies up to one batch of datagrams from the core; returns true when the core may have more.</summary>
    public bool FillLocked(RelayServer core, long now)
    {
        // One short of the channel's batch: a full channel flushes by itself, which must not happen under the lock.
        while (_pending < BatchSize - 1)
        {
            int n = core.PollTransmit(_inner, now, out var to);
            if (n == 0)
            {
                return false;
            }

            if (_envelope is not null && _envelope.HasSession(to!))
            {
                n = _envelope.Seal(to!, _inner.AsSpan(0, n), _channel.NextSendBuffer());
            }
            else if (_allowPlain)
            {
                _inner.AsSpan(0, n).CopyTo(_channel.NextSendBuffer());
            }
            else
            {
                continue; // no session (expired, or a cleartext peer of an encrypted server): nothing it could read
            }

            _channel.Commit(n, Address(to!));
            _pending++;
        }

        return true;
    }

    /// <summary>Queues one datagram as it is (envelope handshake replies); dropped like loss when the batch is full.</summary>
    public void EnqueueRawLocked(ReadOnlySpan<byte> datagram, IPEndPoint to)
    {
        if (_pending >= BatchSize - 1)
        {
            return;
        }

        datagram.CopyTo(_channel.NextSendBuffer());
        _channel.Commit(datagram.Length, Address(to));
        _pending++;
    }

    /// <summary>Sends what <see cref="FillLocked"/> queued. Send errors count like loss; the protocol retransmits.</summary>
    public void Flush()
    {
        if (_pending > 0)
        {
            _pending = 0;
            _channel.Flush();
        }
    }

    public void Dispose() => _channel.Dispose();

    private PeerAddress Address(IPEndPoint to)
    {
        if (!_addresses.TryGetValue(to, out var address))
        {
            if (_addresses.Count >= MaxCachedAddresses)
            {
                _addresses.Clear();
            }

            address = SocketAddressCodec.FromEndPoint(to);
            _addresses[to] = address;
        }

        return address;
    }
}
