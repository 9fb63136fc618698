using System.Buffers;

namespace Ferry.Zmq.Native;

/// <summary>
/// Exposes a received frame as <see cref="Memory{T}"/> without copying it, and owns the frame:
/// disposing returns the bytes to libzmq. Lets a large CHUNK data frame travel from the socket thread
/// to a transfer actor without a copy on the (single, busiest) socket thread.
/// </summary>
public sealed unsafe class ZmqFrameMemory : MemoryManager<byte>
{
    private readonly ZmqMessage _message;
    private readonly int _length;

    /// <summary>Takes ownership of <paramref name="message"/>.</summary>
    public ZmqFrameMemory(ZmqMessage message)
    {
        _message = message;
        _length = message.Size;
    }

    public override Span<byte> GetSpan()
    {
        ObjectDisposedException.ThrowIf(_message.IsClosed, this);
        return new Span<byte>(LibZmq.MsgData(_message.Raw), _length);
    }

    // The frame lives in native memory that never moves: pinning is a no-op.
    public override MemoryHandle Pin(int elementIndex = 0)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(elementIndex);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(elementIndex, _length);
        return new MemoryHandle((byte*)LibZmq.MsgData(_message.Raw) + elementIndex);
    }

    public override void Unpin()
    {
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _message.Dispose();
        }
    }
}
