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
    private readonly int[] _sendNameLength = new int[BatchSize];
    private readonly byte* _sendControl;
    private readonly NativeUdp.MMsgHdr* _groupMsgs;
    private readonly byte* _recvControl;
    private readonly int _recvSlotSize;
    private readonly int _recvSlots;
    private readonly (int Slot, int Offset, int Length)[] _segments;
    private int _segmentCount;
    private int _pendingSends;
    private bool _disposed;

    public UdpChannel(Socket socket, int slotSize, bool allowOffload = true)
    {
        _socket = socket;
        _slotSize = slotSize;
        _native = NativeUdp.IsSupported;
        TuneBuffers(socket);
        allowOffload &= NativeUdp.GsoAllowed;
        Gso = _native && allowOffload;
        Gro = _native && allowOffload && TryEnableGro(socket);
        // With GRO one receive buffer holds up to 64 KiB of coalesced datagrams; fewer of them are needed.
        _recvSlotSize = Gro ? 65536 : slotSize;
        _recvSlots = Gro ? 16 : BatchSize;
        _segments = new (int, int, int)[Gro ? _recvSlots * 64 : BatchSize];
        _sendControl = (byte*)NativeMemory.AllocZeroed((nuint)(BatchSize * NativeUdp.ControlSpace));
        _recvControl = (byte*)NativeMemory.AllocZeroed((nuint)(BatchSize * NativeUdp.ControlSpace));
        _groupMsgs = (NativeUdp.MMsgHdr*)NativeMemory.AllocZeroed((nuint)(BatchSize * sizeof(NativeUdp.MMsgHdr)));
        _recvArena = (byte*)NativeMemory.AlignedAlloc((nuint)(_recvSlots * _recvSlotSize), 64);
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
            if (i < _recvSlots)
            {
                _recvIov[i] = new NativeUdp.IoVec { Base = _recvArena + ((long)i * _recvSlotSize), Length = (nuint)_recvSlotSize };
            }

            _sendIov[i] = new NativeUdp.IoVec { Base = _sendArena + (i * slotSize), Length = 0 };
        }
    }

    /// <summary>True while UDP generic segmentation offload is used to send runs of equal-size datagrams in one call.</summary>
    public bool Gso { get; private set; }

    /// <summary>True when the kernel coalesces received datagrams (UDP_GRO).</summary>
    public bool Gro { get; }

    /// <summary>Sends that went through GSO, and datagrams they carried (for benchmarks).</summary>
    public long GsoSends { get; private set; }

    public long GsoSegments { get; private set; }

    private static bool TryEnableGro(Socket socket)
    {
        try
        {
            socket.SetRawSocketOption(NativeUdp.SolUdp, NativeUdp.UdpGro, BitConverter.GetBytes(1));
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    public Socket Socket => _socket;

    public long SendErrors { get; private set; }

    /// <summary>Receive calls that failed with something other than "nothing waiting".</summary>
    public long ReceiveErrors { get; private set; }

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

    /// <summary>Receives waiting datagrams without blocking; returns how many (GRO buffers are split into datagrams).</summary>
    public int ReceiveBatch()
    {
        if (!_native)
        {
            return ReceiveManaged();
        }

        for (int i = 0; i < _recvSlots; i++)
        {
            ref var h = ref _recvMsgs[i].Header;
            h.Name = _recvNames + (i * SocketAddressCodec.SockAddrSize);
            h.NameLength = SocketAddressCodec.SockAddrSize;
            h.Iov = _recvIov + i;
            h.IovLength = 1;
            h.Control = Gro ? _recvControl + (i * NativeUdp.ControlSpace) : null;
            h.ControlLength = Gro ? (nuint)NativeUdp.ControlSpace : 0;
            h.Flags = 0;
        }

        int n = NativeUdp.RecvMMsg(NativeUdp.Fd(_socket), _recvMsgs, (uint)_recvSlots, NativeUdp.MsgDontWait, null);
        if (n < 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            if (errno is not (NativeUdp.EAgain or NativeUdp.EIntr))
            {
                // ECONNREFUSED after an ICMP port-unreachable and the like: the next datagram is still fine.
                ReceiveErrors++;
            }

            return 0;
        }

        _segmentCount = 0;
        for (int i = 0; i < n; i++)
        {
            int length = (int)Math.Min(_recvMsgs[i].Length, (uint)_recvSlotSize);
            int segment = Gro ? NativeUdp.ReadGroSegmentSize(ref _recvMsgs[i].Header) : 0;
            if (segment <= 0 || segment >= length)
            {
                _segments[_segmentCount++] = (i, 0, length);
                continue;
            }

            for (int off = 0; off < length && _segmentCount < _segments.Length; off += segment)
            {
                _segments[_segmentCount++] = (i, off, Math.Min(segment, length - off));
            }
        }

        ReceivedBuffers = n;
        return _segmentCount;
    }

    /// <summary>How many kernel buffers the last <see cref="ReceiveBatch"/> read (fewer than datagrams with GRO).</summary>
    public int ReceivedBuffers { get; private set; }

    /// <summary>True when the last batch filled every buffer: more is probably waiting.</summary>
    public bool LastBatchWasFull => ReceivedBuffers == _recvSlots;

    /// <summary>The i-th datagram of the last <see cref="ReceiveBatch"/>.</summary>
    public ReadOnlySpan<byte> Received(int i, out PeerAddress from)
    {
        if (!_native)
        {
            from = _managedFrom;
            return _managedRecv.AsSpan(0, _managedLength);
        }

        var (slot, offset, length) = _segments[i];
        from = SocketAddressCodec.FromSockAddr(new ReadOnlySpan<byte>(_recvNames + (slot * SocketAddressCodec.SockAddrSize), SocketAddressCodec.SockAddrSize));
        return new ReadOnlySpan<byte>(_recvArena + ((long)slot * _recvSlotSize) + offset, length);
    }

    /// <summary>A buffer for the next outgoing datagram; call <see cref="Commit"/> with its length and destination.</summary>
    public Span<byte> NextSendBuffer() => new(_sendArena + (_pendingSends * _slotSize), _slotSize);

    public void Commit(int length, in PeerAddress to)
    {
        int i = _pendingSends;
        var name = new Span<byte>(_sendNames + (i * SocketAddressCodec.SockAddrSize), SocketAddressCodec.SockAddrSize);
        _sendNameLength[i] = SocketAddressCodec.ToSockAddr(to, _socket.AddressFamily, name);
        _sendIov[i].Length = (nuint)length;
        if (++_pendingSends == BatchSize)
        {
            Flush();
        }
    }

    /// <summary>
    /// Sends every queued datagram (blocking while the socket buffer is full: natural back-pressure). With GSO, each
    /// run of datagrams to one destination whose sizes are equal (the last may be shorter) leaves in one message
    /// carrying a UDP_SEGMENT control message; the kernel cuts it into datagrams as late as possible.
    /// </summary>
    public void Flush()
    {
        if (_pendingSends == 0)
        {
            return;
        }

        if (!_native)
        {
            for (int k = 0; k < _pendingSends; k++)
            {
                SendManaged(k);
            }

            _pendingSends = 0;
            return;
        }

        int groups = 0;
        for (int i = 0; i < _pendingSends;)
        {
            int size = (int)_sendIov[i].Length;
            int j = i + 1;
            int total = size;
            if (Gso)
            {
                while (j < _pendingSends && j - i < NativeUdp.MaxGsoSegments
                    && (int)_sendIov[j - 1].Length == size && (int)_sendIov[j].Length <= size
                    && total + (int)_sendIov[j].Length <= NativeUdp.MaxGsoBytes
                    && SameDestination(i, j))
                {
                    total += (int)_sendIov[j].Length;
                    j++;
                }
            }

            ref var h = ref _groupMsgs[groups].Header;
            h.Name = _sendNames + (i * SocketAddressCodec.SockAddrSize);
            h.NameLength = (uint)_sendNameLength[i];
            h.Iov = _sendIov + i;
            h.IovLength = (nuint)(j - i);
            h.Flags = 0;
            if (j - i > 1)
            {
                byte* control = _sendControl + (groups * NativeUdp.ControlSpace);
                NativeUdp.WriteSegmentControl(control, (ushort)size);
                h.Control = control;
                h.ControlLength = (nuint)NativeUdp.ControlSpace;
                GsoSends++;
                GsoSegments += j - i;
            }
            else
            {
                h.Control = null;
                h.ControlLength = 0;
            }

            groups++;
            i = j;
        }

        int sent = 0;
        while (sent < groups)
        {
            int n = NativeUdp.SendMMsg(NativeUdp.Fd(_socket), _groupMsgs + sent, (uint)(groups - sent), 0);
            if (n >= 0)
            {
                sent += n;
                continue;
            }

            int errno = Marshal.GetLastPInvokeError();
            if (errno == NativeUdp.EIntr)
            {
                continue;
            }

            if (Gso && _groupMsgs[sent].Header.Control != null && errno is NativeUdp.EIo or NativeUdp.EInval or NativeUdp.EOpNotSupp)
            {
                // The kernel or the route cannot segment: send these datagrams one by one from now on.
                Gso = false;
                ResendUngrouped(sent, groups);
                break;
            }

            // ECONNREFUSED from an earlier ICMP error, EPERM, ENETUNREACH...: drop this message.
            // The protocol treats its datagrams as lost and recovers or times out.
            SendErrors++;
            sent++;
        }

        _pendingSends = 0;
    }

    private bool SameDestination(int a, int b) =>
        _sendNameLength[a] == _sendNameLength[b]
        && new ReadOnlySpan<byte>(_sendNames + (a * SocketAddressCodec.SockAddrSize), _sendNameLength[a])
            .SequenceEqual(new ReadOnlySpan<byte>(_sendNames + (b * SocketAddressCodec.SockAddrSize), _sendNameLength[b]));

    private void ResendUngrouped(int fromGroup, int groups)
    {
        for (int g = fromGroup; g < groups; g++)
        {
            ref var group = ref _groupMsgs[g].Header;
            for (int k = 0; k < (int)group.IovLength; k++)
            {
                var single = new NativeUdp.MMsgHdr();
                single.Header.Name = group.Name;
                single.Header.NameLength = group.NameLength;
                single.Header.Iov = group.Iov + k;
                single.Header.IovLength = 1;
                if (NativeUdp.SendMMsg(NativeUdp.Fd(_socket), &single, 1, 0) < 0)
                {
                    SendErrors++;
                }
            }
        }
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
        NativeMemory.Free(_sendControl);
        NativeMemory.Free(_recvControl);
        NativeMemory.Free(_groupMsgs);
    }

    private static void TuneBuffers(Socket socket)
    {
        // Large buffers absorb pacing bursts. Root may exceed net.core.rmem_max with the *FORCE options.
        const int solSocket = 1, soSndBufForce = 32, soRcvBufForce = 33;
        try
        {
            socket.SetRawSocketOption(solSocket, soRcvBufForce, BitConverter.GetBytes(SocketBufferBytes));
            socket.SetRawSocketOption(solSocket, soSndBufForce, BitConverter.GetBytes(SocketBufferBytes));
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
}
