using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using Ferry.Protocol.Udp;

namespace Ferry.Udp;

/// <summary>
/// A UDP socket with batched, allocation-free I/O: receive up to <see cref="BatchSize"/> datagrams per syscall
/// and queue outgoing datagrams to flush them in one syscall (recvmmsg/sendmmsg on Linux, managed calls elsewhere).
/// Single-threaded: owned by one shell loop.
/// </summary>
internal sealed unsafe class UdpChannel : IDisposable
{
    public const int BatchSize = 64;
    private const int SocketBufferBytes = 16 << 20;

    private readonly Socket _socket;
    private readonly int _slotSize;
    private readonly bool _native;
    private readonly byte* _recvArena;
    private readonly byte* _sendArena;
    private readonly byte* _recvNames;
    private readonly byte* _sendNames;
    private readonly NativeUdp.IoVec* _recvIov;
    private readonly NativeUdp.IoVec* _sendIov;
    private readonly NativeUdp.MMsgHdr* _recvMsgs;
    private readonly NativeUdp.MMsgHdr* _sendMsgs;
    private readonly byte[] _managedRecv;
    private int _pendingSends;
    private bool _disposed;

    public UdpChannel(Socket socket, int slotSize)
    {
        _socket = socket;
        _slotSize = slotSize;
        _native = NativeUdp.IsSupported;
        TuneBuffers(socket);
        _recvArena = (byte*)NativeMemory.AlignedAlloc((nuint)(BatchSize * slotSize), 64);
        _sendArena = (byte*)NativeMemory.AlignedAlloc((nuint)(BatchSize * slotSize), 64);
        _recvNames = (byte*)NativeMemory.AllocZeroed((nuint)(BatchSize * SocketAddressCodec.SockAddrSize));
        _sendNames = (byte*)NativeMemory.AllocZeroed((nuint)(BatchSize * SocketAddressCodec.SockAddrSize));
        _recvIov = (NativeUdp.IoVec*)NativeMemory.AllocZeroed((nuint)(BatchSize * sizeof(NativeUdp.IoVec)));
        _sendIov = (NativeUdp.IoVec*)NativeMemory.AllocZeroed((nuint)(BatchSize * sizeof(NativeUdp.IoVec)));
        _recvMsgs = (NativeUdp.MMsgHdr*)NativeMemory.AllocZeroed((nuint)(BatchSize * sizeof(NativeUdp.MMsgHdr)));
        _sendMsgs = (NativeUdp.MMsgHdr*)NativeMemory.AllocZeroed((nuint)(BatchSize * sizeof(NativeUdp.MMsgHdr)));
        _managedRecv = _native ? Array.Empty<byte>() : new byte[slotSize];
        for (int i = 0; i < BatchSize; i++)
        {
            _recvIov[i] = new NativeUdp.IoVec { Base = _recvArena + (i * slotSize), Length = (nuint)slotSize };
            _sendIov[i] = new NativeUdp.IoVec { Base = _sendArena + (i * slotSize), Length = 0 };
        }
    }

    public Socket Socket => _socket;

    public long SendErrors { get; private set; }

    /// <summary>Binds a UDP socket; <paramref name="address"/> IPv6Any gives a dual-stack socket (IPv4 and IPv6).</summary>
    public static Socket Bind(IPAddress address, int port)
    {
        var socket = new Socket(address.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        try
        {
            if (address.AddressFamily == AddressFamily.InterNetworkV6)
            {
                socket.DualMode = true;
            }

            socket.Bind(new IPEndPoint(address, port));
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>Receives up to <see cref="BatchSize"/> waiting datagrams without blocking; returns how many.</summary>
    public int ReceiveBatch()
    {
        if (!_native)
        {
            return ReceiveManaged();
        }

        for (int i = 0; i < BatchSize; i++)
        {
            ref var h = ref _recvMsgs[i].Header;
            h.Name = _recvNames + (i * SocketAddressCodec.SockAddrSize);
            h.NameLength = SocketAddressCodec.SockAddrSize;
            h.Iov = _recvIov + i;
            h.IovLength = 1;
            h.Control = null;
            h.ControlLength = 0;
            h.Flags = 0;
        }

        int n = NativeUdp.RecvMMsg(NativeUdp.Fd(_socket), _recvMsgs, BatchSize, NativeUdp.MsgDontWait, null);
        if (n < 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            return errno is NativeUdp.EAgain or NativeUdp.EIntr ? 0 : HandleReceiveError(errno);
        }

        return n;
    }

    /// <summary>The i-th datagram of the last <see cref="ReceiveBatch"/>.</summary>
    public ReadOnlySpan<byte> Received(int i, out PeerAddress from)
    {
        if (!_native)
        {
            from = _managedFrom;
            return _managedRecv.AsSpan(0, _managedLength);
        }

        from = SocketAddressCodec.FromSockAddr(new ReadOnlySpan<byte>(_recvNames + (i * SocketAddressCodec.SockAddrSize), SocketAddressCodec.SockAddrSize));
        int length = (int)Math.Min(_recvMsgs[i].Length, (uint)_slotSize);
        return new ReadOnlySpan<byte>(_recvArena + (i * _slotSize), length);
    }

    /// <summary>A buffer for the next outgoing datagram; call <see cref="Commit"/> with its length and destination.</summary>
    public Span<byte> NextSendBuffer() => new(_sendArena + (_pendingSends * _slotSize), _slotSize);

    public void Commit(int length, in PeerAddress to)
    {
        int i = _pendingSends;
        var name = new Span<byte>(_sendNames + (i * SocketAddressCodec.SockAddrSize), SocketAddressCodec.SockAddrSize);
        int nameLength = SocketAddressCodec.ToSockAddr(to, _socket.AddressFamily, name);
        _sendIov[i].Length = (nuint)length;
        ref var h = ref _sendMsgs[i].Header;
        h.Name = _sendNames + (i * SocketAddressCodec.SockAddrSize);
        h.NameLength = (uint)nameLength;
        h.Iov = _sendIov + i;
        h.IovLength = 1;
        h.Control = null;
        h.ControlLength = 0;
        h.Flags = 0;
        if (++_pendingSends == BatchSize)
        {
            Flush();
        }
    }

    /// <summary>Sends every queued datagram (blocking while the socket buffer is full: natural back-pressure).</summary>
    public void Flush()
    {
        int sent = 0;
        while (sent < _pendingSends)
        {
            if (!_native)
            {
                SendManaged(sent);
                sent++;
                continue;
            }

            int n = NativeUdp.SendMMsg(NativeUdp.Fd(_socket), _sendMsgs + sent, (uint)(_pendingSends - sent), 0);
            if (n < 0)
            {
                int errno = Marshal.GetLastPInvokeError();
                if (errno == NativeUdp.EIntr)
                {
                    continue;
                }

                // ECONNREFUSED from an earlier ICMP error, EPERM, ENETUNREACH...: drop this one datagram.
                // The protocol treats it as lost and recovers or times out.
                SendErrors++;
                sent++;
                continue;
            }

            sent += n;
        }

        _pendingSends = 0;
    }

    /// <summary>Waits until a datagram is readable or <paramref name="timeoutMicros"/> passes (microsecond resolution).</summary>
    public bool WaitReadable(long timeoutMicros)
    {
        if (timeoutMicros <= 0)
        {
            return _socket.Available > 0;
        }

        if (!_native)
        {
            return _socket.Poll(checked((int)Math.Min(timeoutMicros, int.MaxValue)), SelectMode.SelectRead);
        }

        var fd = new NativeUdp.PollFd { Fd = NativeUdp.Fd(_socket), Events = NativeUdp.PollIn };
        var ts = new NativeUdp.TimeSpec { Seconds = timeoutMicros / 1_000_000, Nanoseconds = timeoutMicros % 1_000_000 * 1000 };
        return NativeUdp.PPoll(&fd, 1, &ts, null) > 0;
    }

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        _socket.Dispose();
        NativeMemory.AlignedFree(_recvArena);
        NativeMemory.AlignedFree(_sendArena);
        NativeMemory.Free(_recvNames);
        NativeMemory.Free(_sendNames);
        NativeMemory.Free(_recvIov);
        NativeMemory.Free(_sendIov);
        NativeMemory.Free(_recvMsgs);
        NativeMemory.Free(_sendMsgs);
    }

    private static void TuneBuffers(Socket socket)
    {
        // Large buffers absorb pacing bursts. Root may exceed net.core.rmem_max with the *FORCE options.
        const int SolSocket = 1, SoSndBufForce = 32, SoRcvBufForce = 33;
        try
        {
            socket.SetRawSocketOption(SolSocket, SoRcvBufForce, BitConverter.GetBytes(SocketBufferBytes));
            socket.SetRawSocketOption(SolSocket, SoSndBufForce, BitConverter.GetBytes(SocketBufferBytes));
        }
        catch (SocketException)
        {
            socket.ReceiveBufferSize = SocketBufferBytes;
            socket.SendBufferSize = SocketBufferBytes;
        }
        catch (PlatformNotSupportedException)
        {
            socket.ReceiveBufferSize = SocketBufferBytes;
            socket.SendBufferSize = SocketBufferBytes;
        }
    }

    private PeerAddress _managedFrom;
    private int _managedLength;

    private int ReceiveManaged()
    {
        if (_socket.Available == 0)
        {
            return 0;
        }

        EndPoint from = new IPEndPoint(_socket.AddressFamily == AddressFamily.InterNetwork ? IPAddress.Any : IPAddress.IPv6Any, 0);
        try
        {
            _managedLength = _socket.ReceiveFrom(_managedRecv, ref from);
        }
        catch (SocketException)
        {
            return 0;
        }

        _managedFrom = SocketAddressCodec.FromEndPoint((IPEndPoint)from);
        return 1;
    }

    private void SendManaged(int i)
    {
        var name = new ReadOnlySpan<byte>(_sendNames + (i * SocketAddressCodec.SockAddrSize), SocketAddressCodec.SockAddrSize);
        var to = SocketAddressCodec.ToEndPoint(SocketAddressCodec.FromSockAddr(name));
        try
        {
            _socket.SendTo(new ReadOnlySpan<byte>(_sendArena + (i * _slotSize), (int)_sendIov[i].Length), SocketFlags.None, to);
        }
        catch (SocketException)
        {
            SendErrors++;
        }
    }

    private int HandleReceiveError(int errno)
    {
        // ECONNREFUSED (111) after an ICMP port-unreachable: the next datagram is still fine.
        return 0;
    }
}
