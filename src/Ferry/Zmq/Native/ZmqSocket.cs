using System.Text;

namespace Ferry.Zmq.Native;

/// <summary>
/// A libzmq socket. Not thread-safe, like the socket it wraps: one thread uses it at a time.
/// Sends and receives return false instead of throwing for the expected would-block outcomes.
/// </summary>
public sealed unsafe class ZmqSocket : IDisposable
{
    internal ZmqSocket(ZmqContext context, ZmqSocketType type)
    {
        Handle = ZmqSocketHandle.Create(context.Handle, (int)type);
        Type = type;
        Linger = 0;
    }

    public ZmqSocketType Type { get; }

    internal ZmqSocketHandle Handle { get; }

    private nint Raw
    {
        get
        {
            ObjectDisposedException.ThrowIf(Handle.IsClosed, this);
            return Handle.DangerousGetHandle();
        }
    }

    /// <summary>ZMQ_LINGER in milliseconds (-1: wait forever for undelivered messages at close).</summary>
    public int Linger
    {
        get => GetInt32(LibZmq.ZMQ_LINGER);
        set => SetInt32(LibZmq.ZMQ_LINGER, value);
    }

    /// <summary>ZMQ_SNDHWM: messages queued per peer before sends block or drop.</summary>
    public int SendHighWaterMark
    {
        get => GetInt32(LibZmq.ZMQ_SNDHWM);
        set => SetInt32(LibZmq.ZMQ_SNDHWM, value);
    }

    /// <summary>ZMQ_RCVHWM: messages queued per peer before libzmq stops reading its connection.</summary>
    public int ReceiveHighWaterMark
    {
        get => GetInt32(LibZmq.ZMQ_RCVHWM);
        set => SetInt32(LibZmq.ZMQ_RCVHWM, value);
    }

    /// <summary>ZMQ_MAXMSGSIZE: a peer sending a larger frame is disconnected (-1: no limit).</summary>
    public long MaxMessageSize
    {
        get => GetInt64(LibZmq.ZMQ_MAXMSGSIZE);
        set => SetInt64(LibZmq.ZMQ_MAXMSGSIZE, value);
    }

    /// <summary>ZMQ_RCVTIMEO in milliseconds (-1: block forever).</summary>
    public int ReceiveTimeout
    {
        get => GetInt32(LibZmq.ZMQ_RCVTIMEO);
        set => SetInt32(LibZmq.ZMQ_RCVTIMEO, value);
    }

    /// <summary>ZMQ_SNDTIMEO in milliseconds (-1: block forever).</summary>
    public int SendTimeout
    {
        get => GetInt32(LibZmq.ZMQ_SNDTIMEO);
        set => SetInt32(LibZmq.ZMQ_SNDTIMEO, value);
    }

    /// <summary>ZMQ_IPV6: accept/connect IPv6 (a "*" bind then listens dual-stack).</summary>
    public bool IPv6
    {
        get => GetInt32(LibZmq.ZMQ_IPV6) != 0;
        set => SetInt32(LibZmq.ZMQ_IPV6, value ? 1 : 0);
    }

    /// <summary>ZMQ_ROUTER_MANDATORY (write-only in libzmq): sending to an unknown peer fails with EHOSTUNREACH instead of silently dropping.</summary>
    public bool RouterMandatory
    {
        set => SetInt32(LibZmq.ZMQ_ROUTER_MANDATORY, value ? 1 : 0);
    }

    /// <summary>ZMQ_ROUTING_ID: the identity a ROUTER peer sees for this socket (1..255 bytes; set before connect).</summary>
    public byte[] RoutingId
    {
        get => GetBytes(LibZmq.ZMQ_ROUTING_ID, 255);
        set
        {
            fixed (byte* p = value)
            {
                Check(LibZmq.SetSockOpt(Raw, LibZmq.ZMQ_ROUTING_ID, p, (nuint)value.Length), "zmq_setsockopt(ZMQ_ROUTING_ID)");
            }
        }
    }

    /// <summary>ZMQ_LAST_ENDPOINT: the endpoint actually bound, e.g. "tcp://127.0.0.1:41234" after binding port "*".</summary>
    public string LastEndpoint
    {
        get
        {
            byte[] b = GetBytes(LibZmq.ZMQ_LAST_ENDPOINT, 1024);
            int len = Array.IndexOf(b, (byte)0);
            return Encoding.UTF8.GetString(b, 0, len < 0 ? b.Length : len);
        }
    }

    /// <summary>ZMQ_MECHANISM: 0 NULL (plain), 2 CURVE.</summary>
    public int Mechanism => GetInt32(LibZmq.ZMQ_MECHANISM);

    /// <summary>ZMQ_HANDSHAKE_IVL in milliseconds: a connection whose handshake takes longer is dropped (0: never).</summary>
    public int HandshakeInterval
    {
        get => GetInt32(LibZmq.ZMQ_HANDSHAKE_IVL);
        set => SetInt32(LibZmq.ZMQ_HANDSHAKE_IVL, value);
    }

    /// <summary>
    /// Makes this socket a CURVE server with the 32-byte <paramref name="secretKey"/> (before bind: libzmq applies
    /// security options to the endpoints bound or connected after they are set).
    /// </summary>
    public void SetCurveServer(ReadOnlySpan<byte> secretKey)
    {
        SetInt32(LibZmq.ZMQ_CURVE_SERVER, 1);
        SetBytes(LibZmq.ZMQ_CURVE_SECRETKEY, secretKey, "ZMQ_CURVE_SECRETKEY");
    }

    /// <summary>
    /// Makes this socket a CURVE client of the server whose public key is <paramref name="serverKey"/> (32 bytes),
    /// authenticating with the given key pair (Z85 text; Ferry uses a fresh pair per connection). Before connect.
    /// </summary>
    public void SetCurveClient(ReadOnlySpan<byte> serverKey, string publicZ85, string secretZ85)
    {
        SetBytes(LibZmq.ZMQ_CURVE_SERVERKEY, serverKey, "ZMQ_CURVE_SERVERKEY");
        SetBytes(LibZmq.ZMQ_CURVE_PUBLICKEY, Encoding.ASCII.GetBytes(publicZ85), "ZMQ_CURVE_PUBLICKEY");
        byte[] secret = Encoding.ASCII.GetBytes(secretZ85);
        try
        {
            SetBytes(LibZmq.ZMQ_CURVE_SECRETKEY, secret, "ZMQ_CURVE_SECRETKEY");
        }
        finally
        {
            Array.Clear(secret);
        }
    }

    /// <summary>
    /// Starts publishing this socket's connection events (<paramref name="events"/>, ZMQ_EVENT_* bits) on a PAIR
    /// socket bound at <paramref name="inprocAddress"/>; see <see cref="ZmqMonitor"/>.
    /// </summary>
    public void Monitor(string inprocAddress, int events) =>
        Check(LibZmq.SocketMonitor(Raw, inprocAddress, events), $"zmq_socket_monitor({inprocAddress})");

    /// <summary>Stops a monitor started with <see cref="Monitor"/>.</summary>
    public void StopMonitor() => LibZmq.SocketMonitor(Raw, null, 0);

    public void Bind(string endpoint) => Check(LibZmq.Bind(Raw, endpoint), $"zmq_bind({endpoint})");

    public void Connect(string endpoint) => Check(LibZmq.Connect(Raw, endpoint), $"zmq_connect({endpoint})");

    /// <summary>
    /// Queues one frame. Returns false when it would block (EAGAIN: high-water mark or send timeout) or when a
    /// ROUTER with <see cref="RouterMandatory"/> does not know the addressed peer (EHOSTUNREACH); throws otherwise.
    /// </summary>
    public bool TrySend(ReadOnlySpan<byte> frame, bool more, bool dontWait = false)
    {
        int flags = (more ? LibZmq.ZMQ_SNDMORE : 0) | (dontWait ? LibZmq.ZMQ_DONTWAIT : 0);
        fixed (byte* p = frame)
        {
            while (true)
            {
                // A non-null pointer even for empty frames keeps libzmq's argument check happy.
                byte dummy = 0;
                if (LibZmq.Send(Raw, p == null ? &dummy : p, (nuint)frame.Length, flags) >= 0)
                {
                    return true;
                }

                int errno = System.Runtime.InteropServices.Marshal.GetLastPInvokeError();
                switch (errno)
                {
                    case LibZmq.EINTR:
                        continue;
                    case LibZmq.EAGAIN:
                    case LibZmq.EHOSTUNREACH:
                        return false;
                    default:
                        throw new ZmqException("zmq_send", errno);
                }
            }
        }
    }

    /// <summary>Sends a whole multipart message; false (and nothing more sent) when the first frame would block.</summary>
    public bool TrySendMessage(ReadOnlySpan<ReadOnlyMemory<byte>> frames, bool dontWait = false)
    {
        for (int i = 0; i < frames.Length; i++)
        {
            // Once the first frame is queued libzmq accepts the rest of the message atomically.
            if (!TrySend(frames[i].Span, more: i < frames.Length - 1, dontWait) && i == 0)
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>
    /// Receives one frame into <paramref name="message"/> (replacing its previous content).
    /// Returns false when nothing is available (EAGAIN with dontWait, or the receive timeout expired).
    /// </summary>
    public bool TryReceive(ZmqMessage message, bool dontWait = false)
    {
        bool added = false;
        message.DangerousAddRef(ref added);
        try
        {
            while (true)
            {
                if (LibZmq.MsgRecv(message.Raw, Raw, dontWait ? LibZmq.ZMQ_DONTWAIT : 0) >= 0)
                {
                    return true;
                }

                int errno = System.Runtime.InteropServices.Marshal.GetLastPInvokeError();
                if (errno == LibZmq.EINTR)
                {
                    continue;
                }

                if (errno == LibZmq.EAGAIN)
                {
                    return false;
                }

                throw new ZmqException("zmq_msg_recv", errno);
            }
        }
        finally
        {
            if (added)
            {
                message.DangerousRelease();
            }
        }
    }

    /// <summary>
    /// Receives a whole multipart message as copied frames; false when none is available.
    /// Frames after <paramref name="maxFrames"/> are received and dropped (only counted).
    /// </summary>
    public bool TryReceiveMessage(List<byte[]> frames, out int frameCount, bool dontWait = false, int maxFrames = 64)
    {
        frames.Clear();
        frameCount = 0;
        using var msg = new ZmqMessage();
        if (!TryReceive(msg, dontWait))
        {
            return false;
        }

        while (true)
        {
            frameCount++;
            if (frames.Count < maxFrames)
            {
                frames.Add(msg.Span.ToArray());
            }

            if (!msg.More)
            {
                return true;
            }

            // The rest of a multipart message is already here: libzmq delivers messages atomically.
            TryReceive(msg, dontWait: false);
        }
    }

    public void Dispose() => Handle.Dispose();

    private static void Check(int rc, string operation)
    {
        if (rc != 0)
        {
            throw ZmqException.Last(operation);
        }
    }

    private void SetInt32(int option, int value) =>
        Check(LibZmq.SetSockOpt(Raw, option, &value, sizeof(int)), $"zmq_setsockopt({option})");

    private void SetInt64(int option, long value) =>
        Check(LibZmq.SetSockOpt(Raw, option, &value, sizeof(long)), $"zmq_setsockopt({option})");

    private void SetBytes(int option, ReadOnlySpan<byte> value, string name)
    {
        fixed (byte* p = value)
        {
            Check(LibZmq.SetSockOpt(Raw, option, p, (nuint)value.Length), $"zmq_setsockopt({name})");
        }
    }

    private int GetInt32(int option)
    {
        int value = 0;
        nuint len = sizeof(int);
        Check(LibZmq.GetSockOpt(Raw, option, &value, ref len), $"zmq_getsockopt({option})");
        return value;
    }

    private long GetInt64(int option)
    {
        long value = 0;
        nuint len = sizeof(long);
        Check(LibZmq.GetSockOpt(Raw, option, &value, ref len), $"zmq_getsockopt({option})");
        return value;
    }

    private byte[] GetBytes(int option, int capacity)
    {
        byte[] buffer = new byte[capacity];
        nuint len = (nuint)capacity;
        fixed (byte* p = buffer)
        {
            Check(LibZmq.GetSockOpt(Raw, option, p, ref len), $"zmq_getsockopt({option})");
        }

        return buffer.AsSpan(0, (int)len).ToArray();
    }
}
