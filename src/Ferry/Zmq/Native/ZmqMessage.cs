using System.Runtime.InteropServices;

namespace Ferry.Zmq.Native;

/// <summary>
/// One zmq_msg_t in native memory (it must not move: small frames live inside the struct itself).
/// A received frame's bytes stay valid until the next receive into this message or until it is disposed.
/// </summary>
public sealed unsafe class ZmqMessage : SafeHandle
{
    public ZmqMessage()
        : base(0, ownsHandle: true)
    {
        ZmqLibrary.EnsureAvailable();
        void* p = NativeMemory.AlignedAlloc(LibZmq.MsgSize, 8);
        if (LibZmq.MsgInit(p) != 0)
        {
            NativeMemory.AlignedFree(p);
            throw ZmqException.Last("zmq_msg_init");
        }

        SetHandle((nint)p);
    }

    public override bool IsInvalid => handle == 0;

    /// <summary>Byte length of the frame.</summary>
    public int Size
    {
        get
        {
            ObjectDisposedException.ThrowIf(IsClosed, this);
            return checked((int)LibZmq.MsgSizeOf(Raw));
        }
    }

    /// <summary>True when another frame of the same multipart message follows.</summary>
    public bool More
    {
        get
        {
            ObjectDisposedException.ThrowIf(IsClosed, this);
            return LibZmq.MsgMore(Raw) != 0;
        }
    }

    internal void* Raw => (void*)handle;

    /// <summary>The frame's bytes; valid until the next receive into this message or disposal.</summary>
    public ReadOnlySpan<byte> Span
    {
        get
        {
            ObjectDisposedException.ThrowIf(IsClosed, this);
            return new ReadOnlySpan<byte>(LibZmq.MsgData(Raw), checked((int)LibZmq.MsgSizeOf(Raw)));
        }
    }

    /// <summary>A metadata property of a received frame, e.g. "Peer-Address"; null when libzmq does not know it.</summary>
    public string? GetProperty(string name)
    {
        ObjectDisposedException.ThrowIf(IsClosed, this);
        nint text = LibZmq.MsgGets(Raw, name);
        return text == 0 ? null : Marshal.PtrToStringUTF8(text);
    }

    protected override bool ReleaseHandle()
    {
        void* p = (void*)handle;
        int rc = LibZmq.MsgClose(p);
        NativeMemory.AlignedFree(p);
        return rc == 0;
    }
}
