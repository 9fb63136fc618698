using System.Runtime.InteropServices;

namespace Ferry.Zmq.Native;

/// <summary>
/// zmq_poll over a fixed set of zmq sockets and plain file descriptors (e.g. an <see cref="EventFd"/> that other
/// threads signal). Holds a reference on every socket handle so none can be closed while it is polled.
/// </summary>
public sealed unsafe class ZmqPoller : IDisposable
{
    private readonly List<SafeHandle> _held = new();
    private LibZmq.PollItem* _items;
    private int _count;
    private int _capacity;

    public ZmqPoller(int capacity = 4)
    {
        _capacity = capacity;
        _items = (LibZmq.PollItem*)NativeMemory.AllocZeroed((nuint)(capacity * sizeof(LibZmq.PollItem)));
    }

    /// <summary>Adds a socket; returns its index for <see cref="SetEvents"/> and the readiness queries.</summary>
    public int Add(ZmqSocket socket, bool readable = true, bool writable = false)
    {
        bool added = false;
        socket.Handle.DangerousAddRef(ref added);
        _held.Add(socket.Handle);
        return AddItem(socket.Handle.DangerousGetHandle(), 0, readable, writable);
    }

    /// <summary>Adds a plain file descriptor (owned by <paramref name="owner"/>, which stays referenced while polled).</summary>
    public int Add(SafeHandle owner, int fd, bool readable = true)
    {
        bool added = false;
        owner.DangerousAddRef(ref added);
        _held.Add(owner);
        return AddItem(0, fd, readable, writable: false);
    }

    /// <summary>Changes which events an item is polled for (e.g. stop reading while applying back-pressure).</summary>
    public void SetEvents(int index, bool readable, bool writable = false)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual((uint)index, (uint)_count);
        _items[index].Events = (short)((readable ? LibZmq.ZMQ_POLLIN : 0) | (writable ? LibZmq.ZMQ_POLLOUT : 0));
    }

    /// <summary>Waits up to <paramref name="timeoutMs"/> ms (-1: forever, 0: just check). Returns how many items are ready (0 on timeout or EINTR).</summary>
    public int Poll(long timeoutMs)
    {
        ObjectDisposedException.ThrowIf(_items == null, this);
        for (int i = 0; i < _count; i++)
        {
            _items[i].Revents = 0;
        }

        int rc = LibZmq.Poll(_items, _count, (nint)timeoutMs);
        if (rc >= 0)
        {
            return rc;
        }

        int errno = Marshal.GetLastPInvokeError();
        if (errno == LibZmq.EINTR)
        {
            return 0;
        }

        throw new ZmqException("zmq_poll", errno);
    }

    public bool IsReadable(int index) => (_items[index].Revents & LibZmq.ZMQ_POLLIN) != 0;

    public bool IsWritable(int index) => (_items[index].Revents & LibZmq.ZMQ_POLLOUT) != 0;

    public void Dispose()
    {
        if (_items == null)
        {
            return;
        }

        NativeMemory.Free(_items);
        _items = null;
        foreach (var h in _held)
        {
            h.DangerousRelease();
        }

        _held.Clear();
    }

    private int AddItem(nint socket, int fd, bool readable, bool writable)
    {
        ObjectDisposedException.ThrowIf(_items == null, this);
        if (_count == _capacity)
        {
            _capacity *= 2;
            _items = (LibZmq.PollItem*)NativeMemory.Realloc(_items, (nuint)(_capacity * sizeof(LibZmq.PollItem)));
        }

        int index = _count++;
        _items[index] = new LibZmq.PollItem { Socket = socket, Fd = fd };
        SetEvents(index, readable, writable);
        return index;
    }
}
