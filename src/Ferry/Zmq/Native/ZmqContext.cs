namespace Ferry.Zmq.Native;

/// <summary>A libzmq context (I/O threads). Disposing terminates it once every socket created from it is closed.</summary>
public sealed class ZmqContext : IDisposable
{
    public ZmqContext(int ioThreads = 1)
    {
        Handle = ZmqContextHandle.Create();
        if (LibZmq.CtxSet(Handle.DangerousGetHandle(), LibZmq.ZMQ_IO_THREADS, ioThreads) != 0)
        {
            var e = ZmqException.Last("zmq_ctx_set(ZMQ_IO_THREADS)");
            Handle.Dispose();
            throw e;
        }

        // Do not let termination wait for unsent messages of sockets whose linger was not set.
        LibZmq.CtxSet(Handle.DangerousGetHandle(), LibZmq.ZMQ_BLOCKY, 0);
    }

    internal ZmqContextHandle Handle { get; }

    /// <summary>Creates a socket with linger 0 (closing never blocks on undelivered messages).</summary>
    public ZmqSocket CreateSocket(ZmqSocketType type) => new(this, type);

    public void Dispose() => Handle.Dispose();
}
