using System.Text;
using Ferry.Protocol.Zmq;
using Ferry.Zmq.Native;

namespace Ferry.Tests.Zmq;

/// <summary>A raw DEALER for driving the server frame by frame (one thread at a time).</summary>
internal sealed class TestDealer : IDisposable
{
    private readonly ZmqContext _context;
    private readonly List<byte[]> _frames = new();

    /// <param name="curveServerKey">The server's CURVE key (Z85) for a CURVE server; null for a plain one.</param>
    /// <param name="routingId">The routing id to ask the ROUTER for (null: let it pick one).</param>
    public TestDealer(string endpoint, ZmqContext? shared = null, string? curveServerKey = null, byte[]? routingId = null)
    {
        _context = shared ?? new ZmqContext();
        OwnsContext = shared is null;
        Socket = _context.CreateSocket(ZmqSocketType.Dealer);
        Socket.SendHighWaterMark = 100_000;
        Socket.ReceiveHighWaterMark = 100_000;
        Socket.SendTimeout = (int)ZmqServerFixture.Wait.TotalMilliseconds;
        Socket.ReceiveTimeout = (int)ZmqServerFixture.Wait.TotalMilliseconds;
        if (curveServerKey is not null)
        {
            Assert.True(ZmqCurve.TryDecodeKey(curveServerKey, out byte[] key));
            var (pub, sec) = ZmqCurve.NewKeyPair();
            Socket.SetCurveClient(key, pub, sec);
        }

        if (routingId is not null)
        {
            Socket.RoutingId = routingId;
        }

        Socket.Connect(endpoint);
    }

    public ZmqSocket Socket { get; }

    private bool OwnsContext { get; }

    public void Send(ReadOnlyMemory<byte>[] frames) => Assert.True(Socket.TrySendMessage(frames), "send timed out");

    /// <summary>Next reply as "READY" or "ERROR text"; fails the test after the bounded wait.</summary>
    public string Receive() => Receive(allowEnvelope: false);

    /// <summary>Like <see cref="Receive()"/>; with <paramref name="allowEnvelope"/> an empty first frame (the echo of a
    /// request that started with one, as REQ sockets do) is skipped.</summary>
    public string Receive(bool allowEnvelope)
    {
        Assert.True(Socket.TryReceiveMessage(_frames, out int count), "no reply within the wait");
        if (allowEnvelope && count > 1 && _frames[0].Length == 0)
        {
            _frames.RemoveAt(0);
            count--;
        }

        if (count == 1 && _frames[0].AsSpan().SequenceEqual("READY"u8))
        {
            return "READY";
        }

        Assert.Equal(2, count);
        Assert.Equal("ERROR", Encoding.ASCII.GetString(_frames[0]));
        return "ERROR " + Encoding.UTF8.GetString(_frames[1]);
    }

    public ZmqReply ReceiveReply()
    {
        string r = Receive();
        return r == "READY" ? ZmqReply.Ready : ZmqReply.Fail(r["ERROR ".Length..]);
    }

    /// <summary>Sends and returns the reply (no pipelining).</summary>
    public string Call(ReadOnlyMemory<byte>[] frames)
    {
        Send(frames);
        return Receive();
    }

    /// <summary>Uploads <paramref name="data"/> with pipelined chunks; asserts every reply is READY.</summary>
    public void Upload(string name, byte[] data, int chunk = 64 << 10, int window = 8)
    {
        Assert.Equal("READY", Call(ZmqFrames.Hello(name)));
        int inFlight = 0;
        for (int off = 0; off < data.Length; off += chunk)
        {
            Send(ZmqFrames.Chunk(name, off, data[off..Math.Min(data.Length, off + chunk)]));
            if (++inFlight == window)
            {
                Assert.Equal("READY", Receive());
                inFlight--;
            }
        }

        for (; inFlight > 0; inFlight--)
        {
            Assert.Equal("READY", Receive());
        }

        Assert.Equal("READY", Call(ZmqFrames.Close(name, data.Length)));
    }

    public void Dispose()
    {
        Socket.Dispose();
        if (OwnsContext)
        {
            _context.Dispose();
        }
    }
}
