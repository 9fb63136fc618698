using System.Runtime.InteropServices;

namespace Ferry.Zmq.Native;

/// <summary>Owns a libzmq context. Sockets add a reference to it, so it is terminated only after the last socket closed
/// (zmq_ctx_term would otherwise block forever, e.g. on the finalizer thread).</summary>
internal sealed class ZmqContextHandle : SafeHandle
{
    public ZmqContextHandle()
        : base(0, ownsHandle: true)
    {
    }

    public override bool IsInvalid => handle == 0;

    public static ZmqContextHandle Create()
    {
        ZmqLibrary.EnsureAvailable();
        var h = new ZmqContextHandle();
        nint raw = LibZmq.CtxNew();
        if (raw == 0)
        {
            throw ZmqException.Last("zmq_ctx_new");
        }

        h.SetHandle(raw);
        return h;
    }

    protected override bool ReleaseHandle()
    {
        // EINTR: a signal interrupted the wait for sockets to close; the documented answer is to call again.
        while (LibZmq.CtxTerm(handle) != 0)
        {
            if (Marshal.GetLastPInvokeError() != LibZmq.EINTR)
            {
                return false;
            }
        }

        return true;
    }
}
