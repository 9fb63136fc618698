using System.Runtime.InteropServices;

namespace Ferry.Zmq.Native;

/// <summary>
/// The events of one socket (zmq_socket_monitor), read without blocking. libzmq retries a failed connection
/// silently forever; the monitor is how a client learns that a handshake failed (wrong CURVE key, or one side plain
/// and the other CURVE) instead of waiting for a timeout.
/// </summary>
public sealed class ZmqMonitor : IDisposable
{
    private readonly ZmqSocket _watched;
    private readonly ZmqSocket _pair;
    private readonly List<byte[]> _frames = new();

    /// <summary>Starts monitoring <paramref name="watched"/> (call before it connects, so no event is missed).</summary>
    public ZmqMonitor(ZmqContext context, ZmqSocket watched, int events)
    {
        _watched = watched;
        string address = $"inproc://ferry-monitor-{Guid.NewGuid():N}";
        watched.Monitor(address, events);
        _pair = context.CreateSocket(ZmqSocketType.Pair);
        _pair.Connect(address);
    }

    /// <summary>
    /// The next event, waiting up to <paramref name="waitMs"/> for one: its ZMQ_EVENT_* number and value (errno, fd
    /// or protocol error).
    /// </summary>
    public bool TryRead(out int eventNumber, out int value, int waitMs = 0)
    {
        eventNumber = 0;
        value = 0;
        if (waitMs > 0)
        {
            _pair.ReceiveTimeout = waitMs;
        }

        if (!_pair.TryReceiveMessage(_frames, out int count, dontWait: waitMs <= 0, maxFrames: 2))
        {
            return false;
        }

        // libzmq 4.x: frame 1 is a 16-bit event number and a 32-bit value (host order), frame 2 the endpoint.
        if (count != 2 || _frames[0].Length != 6)
        {
            return false;
        }

        eventNumber = MemoryMarshal.Read<ushort>(_frames[0]);
        value = MemoryMarshal.Read<int>(_frames[0].AsSpan(2));
        return true;
    }

    public void Dispose()
    {
        try
        {
            _watched.StopMonitor();
        }
        catch (ObjectDisposedException)
        {
        }

        _pair.Dispose();
    }
}
