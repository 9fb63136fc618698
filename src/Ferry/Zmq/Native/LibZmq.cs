using System.Runtime.InteropServices;

namespace Ferry.Zmq.Native;

/// <summary>
/// The few libzmq 4.x entry points Ferry uses (ROUTER/DEALER over tcp, multipart messages, poll).
/// Every call that can fail sets errno, captured with <c>SetLastError</c> so the runtime cannot clobber it
/// between the call and <see cref="Marshal.GetLastPInvokeError"/>.
/// </summary>
internal static unsafe partial class LibZmq
{
    /// <summary>The soname of the Debian package libzmq5.</summary>
    public const string Library = "libzmq.so.5";

    public const int ZMQ_PAIR = 0;
    public const int ZMQ_REP = 4;
    public const int ZMQ_DEALER = 5;
    public const int ZMQ_ROUTER = 6;

    public const int ZMQ_ROUTING_ID = 5;
    public const int ZMQ_SNDBUF = 11;
    public const int ZMQ_RCVBUF = 12;
    public const int ZMQ_RCVMORE = 13;
    public const int ZMQ_LINGER = 17;
    public const int ZMQ_RECONNECT_IVL = 18;
    public const int ZMQ_MAXMSGSIZE = 22;
    public const int ZMQ_SNDHWM = 23;
    public const int ZMQ_RCVHWM = 24;
    public const int ZMQ_RCVTIMEO = 27;
    public const int ZMQ_SNDTIMEO = 28;
    public const int ZMQ_LAST_ENDPOINT = 32;
    public const int ZMQ_ROUTER_MANDATORY = 33;
    public const int ZMQ_IMMEDIATE = 39;
    public const int ZMQ_IPV6 = 42;
    public const int ZMQ_MECHANISM = 43;
    public const int ZMQ_CURVE_SERVER = 47;
    public const int ZMQ_CURVE_PUBLICKEY = 48;
    public const int ZMQ_CURVE_SECRETKEY = 49;
    public const int ZMQ_CURVE_SERVERKEY = 50;
    public const int ZMQ_HANDSHAKE_IVL = 66;

    public const int ZMQ_NULL = 0;
    public const int ZMQ_CURVE = 2;

    public const int ZMQ_EVENT_CONNECTED = 0x0001;
    public const int ZMQ_EVENT_DISCONNECTED = 0x0200;
    public const int ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL = 0x0800;
    public const int ZMQ_EVENT_HANDSHAKE_SUCCEEDED = 0x1000;
    public const int ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL = 0x2000;
    public const int ZMQ_EVENT_HANDSHAKE_FAILED_AUTH = 0x4000;
    public const int ZMQ_PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH = 0x11000002;

    public const int ZMQ_IO_THREADS = 1;
    public const int ZMQ_BLOCKY = 70;

    public const int ZMQ_DONTWAIT = 1;
    public const int ZMQ_SNDMORE = 2;

    public const short ZMQ_POLLIN = 1;
    public const short ZMQ_POLLOUT = 2;

    private const int HausNumero = 156384712;
    public const int EINTR = 4;
    public const int EAGAIN = 11;
    public const int EINVAL = 22;
    public const int EHOSTUNREACH = 113;
    public const int ETERM = HausNumero + 53;

    /// <summary>Size of zmq_msg_t (an opaque, 8-byte aligned 64-byte struct in libzmq 4.x).</summary>
    public const int MsgSize = 64;

    /// <summary>zmq_pollitem_t on 64-bit Linux: void* socket; int fd; short events; short revents.</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct PollItem
    {
        public nint Socket;
        public int Fd;
        public short Events;
        public short Revents;
    }

    [LibraryImport(Library, EntryPoint = "zmq_version")]
    public static partial void Version(out int major, out int minor, out int patch);

    [LibraryImport(Library, EntryPoint = "zmq_strerror")]
    public static partial nint StrError(int errnum);

    [LibraryImport(Library, EntryPoint = "zmq_ctx_new", SetLastError = true)]
    public static partial nint CtxNew();

    [LibraryImport(Library, EntryPoint = "zmq_ctx_set", SetLastError = true)]
    public static partial int CtxSet(nint context, int option, int value);

    [LibraryImport(Library, EntryPoint = "zmq_ctx_term", SetLastError = true)]
    public static partial int CtxTerm(nint context);

    [LibraryImport(Library, EntryPoint = "zmq_socket", SetLastError = true)]
    public static partial nint Socket(nint context, int type);

    [LibraryImport(Library, EntryPoint = "zmq_close", SetLastError = true)]
    public static partial int Close(nint socket);

    [LibraryImport(Library, EntryPoint = "zmq_setsockopt", SetLastError = true)]
    public static partial int SetSockOpt(nint socket, int option, void* value, nuint length);

    [LibraryImport(Library, EntryPoint = "zmq_getsockopt", SetLastError = true)]
    public static partial int GetSockOpt(nint socket, int option, void* value, ref nuint length);

    [LibraryImport(Library, EntryPoint = "zmq_bind", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int Bind(nint socket, string endpoint);

    [LibraryImport(Library, EntryPoint = "zmq_connect", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int Connect(nint socket, string endpoint);

    [LibraryImport(Library, EntryPoint = "zmq_send", SetLastError = true)]
    public static partial int Send(nint socket, void* buffer, nuint length, int flags);

    [LibraryImport(Library, EntryPoint = "zmq_msg_init", SetLastError = true)]
    public static partial int MsgInit(void* msg);

    [LibraryImport(Library, EntryPoint = "zmq_msg_close", SetLastError = true)]
    public static partial int MsgClose(void* msg);

    [LibraryImport(Library, EntryPoint = "zmq_msg_recv", SetLastError = true)]
    public static partial int MsgRecv(void* msg, nint socket, int flags);

    [LibraryImport(Library, EntryPoint = "zmq_msg_data")]
    public static partial void* MsgData(void* msg);

    [LibraryImport(Library, EntryPoint = "zmq_msg_size")]
    public static partial nuint MsgSizeOf(void* msg);

    [LibraryImport(Library, EntryPoint = "zmq_msg_more")]
    public static partial int MsgMore(void* msg);

    [LibraryImport(Library, EntryPoint = "zmq_msg_gets", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial nint MsgGets(void* msg, string property);

    [LibraryImport(Library, EntryPoint = "zmq_has", StringMarshalling = StringMarshalling.Utf8)]
    public static partial int Has(string capability);

    /// <summary>Writes size*5/4 characters and a NUL to <paramref name="dest"/>; size must be a multiple of 4.</summary>
    [LibraryImport(Library, EntryPoint = "zmq_z85_encode")]
    public static partial nint Z85Encode(byte* dest, byte* data, nuint size);

    /// <summary>Decodes a NUL-terminated Z85 string (length a multiple of 5); null when it is not valid Z85.</summary>
    [LibraryImport(Library, EntryPoint = "zmq_z85_decode")]
    public static partial nint Z85Decode(byte* dest, byte* text);

    /// <summary>Both buffers take 41 bytes (40 Z85 characters and a NUL).</summary>
    [LibraryImport(Library, EntryPoint = "zmq_curve_keypair", SetLastError = true)]
    public static partial int CurveKeyPair(byte* publicZ85, byte* secretZ85);

    [LibraryImport(Library, EntryPoint = "zmq_curve_public", SetLastError = true)]
    public static partial int CurvePublic(byte* publicZ85, byte* secretZ85);

    [LibraryImport(Library, EntryPoint = "zmq_socket_monitor", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int SocketMonitor(nint socket, string? address, int events);

    [LibraryImport(Library, EntryPoint = "zmq_poll", SetLastError = true)]
    public static partial int Poll(PollItem* items, int count, nint timeoutMs);
}
