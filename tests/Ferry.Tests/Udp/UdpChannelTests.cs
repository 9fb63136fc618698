using System.Net;
using Ferry.Udp;

namespace Ferry.Tests.Udp;

/// <summary>Batched socket I/O keeps datagram boundaries, with and without segmentation offload.</summary>
public class UdpChannelTests
{
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Datagrams_arrive_whole_and_in_order(bool offload)
    {
        using var a = new UdpChannel(UdpChannel.Bind(IPAddress.Loopback, 0), 2048, offload);
        using var b = new UdpChannel(UdpChannel.Bind(IPAddress.Loopback, 0), 2048, offload);
        using var c = new UdpChannel(UdpChannel.Bind(IPAddress.Loopback, 0), 2048, offload);
        var toB = SocketAddressCodecAccess.Peer((IPEndPoint)b.Socket.LocalEndPoint!);
        var toC = SocketAddressCodecAccess.Peer((IPEndPoint)c.Socket.LocalEndPoint!);
        var rng = new Random(1);
        var sentB = new List<byte[]>();
        var sentC = new List<byte[]>();
        for (int round = 0; round < 20; round++)
        {
            // Runs of full-size datagrams, a shorter one, small ones, and alternating destinations.
            for (int i = 0; i < 150; i++)
            {
                int size = (i % 50) switch { < 40 => 1452, 40 => 900, < 45 => 60 + i, _ => 1452 };
                bool toSecond = i % 37 == 36;
                var payload = new byte[size];
                rng.NextBytes(payload);
                payload.CopyTo(a.NextSendBuffer());
                a.Commit(size, toSecond ? toC : toB);
                (toSecond ? sentC : sentB).Add(payload);
            }

            a.Flush();
        }

        Assert.Equal(sentB, ReceiveAll(b, sentB.Count));
        Assert.Equal(sentC, ReceiveAll(c, sentC.Count));
        if (offload && a.Gso)
        {
            Assert.True(a.GsoSegments > a.GsoSends * 4, $"{a.GsoSegments} datagrams in {a.GsoSends} offloaded sends");
        }
    }

    private static List<byte[]> ReceiveAll(UdpChannel channel, int expected)
    {
        var got = new List<byte[]>();
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (got.Count < expected && DateTime.UtcNow < deadline)
        {
            int n = channel.ReceiveBatch();
            for (int i = 0; i < n; i++)
            {
                got.Add(channel.Received(i, out _).ToArray());
            }

            if (n == 0)
            {
                channel.WaitReadable(100_000);
            }
        }

        return got;
    }
}

/// <summary>Test access to the shell's address conversion.</summary>
internal static class SocketAddressCodecAccess
{
    public static Ferry.Protocol.Udp.PeerAddress Peer(IPEndPoint ep) => SocketAddressCodec.FromEndPoint(ep);
}
