using System.Runtime.InteropServices;

namespace Ferry.Zmq.Native;

/// <summary>Owns a libzmq socket and keeps its context alive until the socket is closed.</summary>
internal sealed class ZmqSocketHandle : SafeHandle
{
    private ZmqContextHandle? _context;

    public ZmqSocketHandle()
        : base(0, ownsHandle: true)
    {
    }

    public override bool IsInvalid => handle == 0;

    public static ZmqSocketHandle Create(ZmqContextHandle context, int type)
    {
        var h = new ZmqSocketHandle();
        bool added = false;
        context.DangerousAddRef(ref added);
        try
        {
            nint raw = LibZmq.Socket(context.DangerousGetHandle(), type);
            if (raw == 0)
            {
                throw ZmqException.Last("zmq_socket");
            }

            h._context = context;
            h.SetHandle(raw);
            added = false; // now owned by the socket handle, released in ReleaseHandle
            return h;
        }
        finally
        {
            if (added)
            {
                context.DangerousRelease();
            }
        }
    }

    protected override bool ReleaseHandle()
    {
        bool ok = LibZmq.Close(handle) == 0;
        _context?.DangerousRelease();
        _context = null;
        return ok;
    }
}
