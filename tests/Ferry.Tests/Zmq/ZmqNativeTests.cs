using System.Text;
using Ferry.Zmq.Native;

namespace Ferry.Tests.Zmq;

/// <summary>The P/Invoke layer against the real libzmq, on 127.0.0.1 with ephemeral ports.</summary>
public sealed class ZmqNativeTests
{
    private const int WaitMs = 10_000;

    [ZmqFact]
    public void Version_is_4_or_later()
    {
        Assert.True(ZmqLibrary.IsAvailable);
        Assert.Matches(@"^[4-9]\.\d+\.\d+$", ZmqLibrary.Version);
    }

    [ZmqFact]
    public void Options_round_trip()
    {
        using var ctx = new ZmqContext();
        using var s = ctx.CreateSocket(ZmqSocketType.Dealer);
        Assert.Equal(0, s.Linger);
        s.SendHighWaterMark = 123;
        s.ReceiveHighWaterMark = 456;
        s.MaxMessageSize = 1 << 20;
        s.ReceiveTimeout = 250;
        s.SendTimeout = 75;
        s.IPv6 = true;
        s.RoutingId = "client-1"u8.ToArray();
        Assert.Equal(123, s.SendHighWaterMark);
        Assert.Equal(456, s.ReceiveHighWaterMark);
        Assert.Equal(1 << 20, s.MaxMessageSize);
        Assert.Equal(250, s.ReceiveTimeout);
        Assert.Equal(75, s.SendTimeout);
        Assert.True(s.IPv6);
        Assert.Equal("client-1"u8.ToArray(), s.RoutingId);
    }

    [ZmqFact]
    public void Bad_endpoint_throws_with_errno()
    {
        using var ctx = new ZmqContext();
        using var s = ctx.CreateSocket(ZmqSocketType.Router);
        var e = Assert.Throws<ZmqException>(() => s.Bind("nonsense://x"));
        Assert.NotEqual(0, e.Errno);
        Assert.Contains("zmq_bind", e.Message);
    }

    [ZmqFact]
    public void Router_and_dealer_exchange_multipart_messages()
    {
        using var ctx = new ZmqContext();
        using var router = ctx.CreateSocket(ZmqSocketType.Router);
        router.RouterMandatory = true;
        router.Bind("tcp://127.0.0.1:*");
        string endpoint = router.LastEndpoint;
        Assert.Matches(@"^tcp://127\.0\.0\.1:\d+$", endpoint);

        using var dealer = ctx.CreateSocket(ZmqSocketType.Dealer);
        dealer.RoutingId = "d1"u8.ToArray();
        dealer.Connect(endpoint);
        dealer.SendTimeout = WaitMs;
        Assert.True(dealer.TrySendMessage(new ReadOnlyMemory<byte>[] { "HELLO"u8.ToArray(), Array.Empty<byte>(), new byte[100_000] }));

        router.ReceiveTimeout = WaitMs;
        var frames = new List<byte[]>();
        Assert.True(router.TryReceiveMessage(frames, out int count));
        Assert.Equal(4, count);
        Assert.Equal("d1"u8.ToArray(), frames[0]);
        Assert.Equal("HELLO", Encoding.ASCII.GetString(frames[1]));
        Assert.Empty(frames[2]);
        Assert.Equal(100_000, frames[3].Length);

        Assert.True(router.TrySendMessage(new ReadOnlyMemory<byte>[] { frames[0], "READY"u8.ToArray() }));
        dealer.ReceiveTimeout = WaitMs;
        Assert.True(dealer.TryReceiveMessage(frames, out count));
        Assert.Equal(1, count);
        Assert.Equal("READY"u8.ToArray(), frames[0]);

        // An unknown peer is refused, not silently dropped, with ROUTER_MANDATORY.
        Assert.False(router.TrySend("nobody"u8, more: true, dontWait: true));
    }

    [ZmqFact]
    public void Receive_returns_false_when_nothing_arrives()
    {
        using var ctx = new ZmqContext();
        using var dealer = ctx.CreateSocket(ZmqSocketType.Dealer);
        dealer.Connect("tcp://127.0.0.1:1");
        using var msg = new ZmqMessage();
        Assert.False(dealer.TryReceive(msg, dontWait: true));
        dealer.ReceiveTimeout = 1;
        Assert.False(dealer.TryReceive(msg));
    }

    [ZmqFact]
    public void Frame_memory_hands_over_a_frame_without_copying_and_peer_address_is_known()
    {
        using var ctx = new ZmqContext();
        using var router = ctx.CreateSocket(ZmqSocketType.Router);
        router.Bind("tcp://127.0.0.1:*");
        using var dealer = ctx.CreateSocket(ZmqSocketType.Dealer);
        dealer.Connect(router.LastEndpoint);
        byte[] payload = new byte[3000];
        new Random(5).NextBytes(payload);
        Assert.True(dealer.TrySend(payload, more: false));

        router.ReceiveTimeout = WaitMs;
        var identity = new ZmqMessage();
        Assert.True(router.TryReceive(identity));
        Assert.True(identity.More);
        var data = new ZmqMessage();
        Assert.True(router.TryReceive(data));
        Assert.False(data.More);
        Assert.Equal("127.0.0.1", data.GetProperty("Peer-Address"));
        identity.Dispose();

        using var memory = new ZmqFrameMemory(data);
        Assert.Equal(payload, memory.Memory.ToArray());
        using (var pin = memory.Memory.Pin())
        {
            unsafe
            {
                Assert.Equal(payload[0], *(byte*)pin.Pointer);
            }
        }
    }

    [ZmqFact]
    public void Oversized_frame_disconnects_the_peer_at_max_message_size()
    {
        using var ctx = new ZmqContext();
        using var router = ctx.CreateSocket(ZmqSocketType.Router);
        router.MaxMessageSize = 1000;
        router.Bind("tcp://127.0.0.1:*");
        using var dealer = ctx.CreateSocket(ZmqSocketType.Dealer);
        dealer.Connect(router.LastEndpoint);
        Assert.True(dealer.TrySend(new byte[5000], more: false));

        // libzmq drops the connection at the big frame: it never reaches the application.
        router.ReceiveTimeout = 300;
        using var msg = new ZmqMessage();
        Assert.False(router.TryReceive(msg));

        // The dealer reconnects by itself; a small frame then arrives, and it is the first thing received.
        Assert.True(dealer.TrySend("small"u8, more: false));
        router.ReceiveTimeout = WaitMs;
        Assert.True(router.TryReceive(msg)); // routing id
        Assert.True(router.TryReceive(msg));
        Assert.Equal("small"u8.ToArray(), msg.Span.ToArray());
    }

    [ZmqFact]
    public void Poll_wakes_on_eventfd_from_another_thread_and_on_a_readable_socket()
    {
        using var ctx = new ZmqContext();
        using var router = ctx.CreateSocket(ZmqSocketType.Router);
        router.Bind("tcp://127.0.0.1:*");
        using var wake = new EventFd();
        using var poller = new ZmqPoller(1);
        int sockIndex = poller.Add(router);
        int wakeIndex = poller.Add(wake, wake.Fd);

        Assert.Equal(0, poller.Poll(0));
        var t = new Thread(() => wake.Signal());
        t.Start();
        Assert.Equal(1, poller.Poll(WaitMs));
        Assert.True(poller.IsReadable(wakeIndex));
        Assert.False(poller.IsReadable(sockIndex));
        t.Join();
        Assert.True(wake.Drain());
        Assert.False(wake.Drain());
        Assert.Equal(0, poller.Poll(0));

        using var dealer = ctx.CreateSocket(ZmqSocketType.Dealer);
        dealer.Connect(router.LastEndpoint);
        Assert.True(dealer.TrySend("x"u8, more: false));
        Assert.Equal(1, poller.Poll(WaitMs));
        Assert.True(poller.IsReadable(sockIndex));

        // Not polled for reading: stays quiet although a message waits.
        poller.SetEvents(sockIndex, readable: false);
        Assert.Equal(0, poller.Poll(0));
    }

    [ZmqFact]
    public void Disposing_the_context_before_its_sockets_does_not_hang()
    {
        var ctx = new ZmqContext();
        var s = ctx.CreateSocket(ZmqSocketType.Dealer);
        s.Connect("tcp://127.0.0.1:1");
        Assert.True(s.TrySend("pending"u8, more: false, dontWait: true));
        ctx.Dispose();   // deferred: the socket still holds a reference
        s.Dispose();     // closes the socket, then terminates the context (linger 0: immediately)
        Assert.True(s.Handle.IsClosed);
    }
}
