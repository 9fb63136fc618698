using Ferry.Protocol.Zmq;
using Ferry.Tests.Zmq;
using static Ferry.Tests.Zmq.ZmqFrames;

namespace Ferry.Tests.Fuzz;

/// <summary>zmq:// open transfers per client are bounded end to end (real ROUTER on 127.0.0.1, raw DEALER).</summary>
public sealed class ZmqTransferLimitTests
{
    [ZmqFact]
    public async Task A_client_holding_the_maximum_of_open_transfers_gets_error_for_one_more_until_one_ends()
    {
        await using var server = new ZmqServerFixture();
        using var c = new TestDealer(server.Endpoint);
        for (int i = 0; i < ZmqLimits.MaxOpenTransfersPerClient; i++)
        {
            c.Send(Hello("f" + i));
        }

        for (int i = 0; i < ZmqLimits.MaxOpenTransfersPerClient; i++)
        {
            Assert.Equal("READY", c.Receive());
        }

        Assert.Equal($"ERROR too many open transfers from this client (at most {ZmqLimits.MaxOpenTransfersPerClient}): CLOSE one first", c.Call(Hello("one-more")));
        Assert.False(File.Exists(server.PathOf("one-more")));

        // Another client is not affected.
        using (var other = new TestDealer(server.Endpoint))
        {
            Assert.Equal("READY", other.Call(Hello("theirs")));
        }

        // Ending one transfer frees a place (the route goes once its actor is idle: retry, bounded).
        Assert.Equal("READY", c.Call(Close("f0", 0)));
        string reply = string.Empty;
        for (int attempt = 0; attempt < 200 && reply != "READY"; attempt++)
        {
            reply = c.Call(Hello("one-more"));
            if (reply != "READY")
            {
                await Task.Delay(10);
            }
        }

        Assert.Equal("READY", reply);
    }
}
