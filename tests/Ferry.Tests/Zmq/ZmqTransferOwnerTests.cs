using System.Text;
using Ferry.Zmq;
using static Ferry.Tests.Zmq.ZmqFrames;

namespace Ferry.Tests.Zmq;

/// <summary>
/// One client cannot touch another client's open transfer: a transfer belongs to the connection that opened it
/// (its ROUTER routing id and, with CURVE, its client key; docs/PROTOCOL.md "Security"). Real ROUTER on 127.0.0.1.
/// </summary>
public sealed class ZmqTransferOwnerTests
{
    private const string NoTransfer = "ERROR no open transfer of 'victim.bin': send HELLO first";

    [ZmqCurveFact]
    public async Task A_client_that_takes_over_the_routing_id_of_a_gone_client_cannot_write_into_or_close_its_transfer()
    {
        await using var server = new ZmqServerFixture(curve: true);
        byte[] id = Encoding.ASCII.GetBytes("victim-routing-id");
        using (var victim = new TestDealer(server.Endpoint, curveServerKey: server.CurveKey, routingId: id))
        {
            Assert.Equal("READY", victim.Call(Hello("victim.bin")));
            Assert.Equal("READY", victim.Call(Chunk("victim.bin", 0, Bytes(1000, 1))));
        }

        // The victim's connection is gone, its transfer still open (until the idle timeout). The attacker asks for
        // the same routing id with its own CURVE key; the ROUTER ignores it while the old connection is still known,
        // so it retries until a reply comes.
        var (attacker, reply) = TakeOver(server, id, Chunk("victim.bin", 1000, Bytes(500, 2)));
        using (attacker)
        {
            Assert.Equal(NoTransfer, reply);
            Assert.Equal(NoTransfer, attacker.Call(Close("victim.bin", 1500)));
            Assert.Equal(NoTransfer, attacker.Call(Close("victim.bin", 1)));

            // A HELLO of the same name is refused too: the name is the victim's until its transfer ends.
            Assert.StartsWith("ERROR", attacker.Call(Hello("victim.bin")));
        }

        Assert.False(File.Exists(server.PathOf("victim.bin")));
        Assert.Equal(1, server.Listener.OpenTransfers);
        Assert.Single(server.TempFiles());
    }

    [ZmqFact]
    public async Task Without_curve_a_transfer_belongs_to_the_ip_address_that_opened_it()
    {
        // Plain zmq:// (--insecure) has no client key: the opener's IP address is what a routing id must come with.
        await using var server = new ZmqServerFixture();
        byte[] id = Encoding.ASCII.GetBytes("victim-routing-id");
        using (var victim = new TestDealer(server.Endpoint, routingId: id))
        {
            Assert.Equal("READY", victim.Call(Hello("victim.bin")));
            Assert.Equal("READY", victim.Call(Chunk("victim.bin", 0, Bytes(1000, 1))));
        }

        // Same routing id from another loopback address ("source;destination" endpoint syntax).
        string fromElsewhere = "tcp://127.0.0.2:0;" + server.Endpoint["tcp://".Length..];
        var (attacker, reply) = TakeOver(server, id, Chunk("victim.bin", 1000, Bytes(500, 2)), fromElsewhere);
        using (attacker)
        {
            Assert.Equal(NoTransfer, reply);
            Assert.Equal(NoTransfer, attacker.Call(Close("victim.bin", 1)));
        }

        Assert.Equal(1, server.Listener.OpenTransfers);
        Assert.Single(server.TempFiles());
    }

    [ZmqCurveFact]
    public async Task The_owner_itself_still_completes_its_transfer_beside_a_client_probing_its_routing_id()
    {
        await using var server = new ZmqServerFixture(curve: true);
        using var owner = new TestDealer(server.Endpoint, curveServerKey: server.CurveKey);
        Assert.Equal("READY", owner.Call(Hello("mine.bin")));
        byte[] data = Bytes(300_000, 3);
        Assert.Equal("READY", owner.Call(Chunk("mine.bin", 0, data[..100_000])));

        // Another client without the name open: its own requests are answered as rule 1 says, the owner's not touched.
        using var other = new TestDealer(server.Endpoint, curveServerKey: server.CurveKey);
        Assert.StartsWith("ERROR no open transfer of 'mine.bin'", other.Call(Chunk("mine.bin", 100_000, data[100_000..200_000])));

        Assert.Equal("READY", owner.Call(Chunk("mine.bin", 100_000, data[100_000..200_000])));
        Assert.Equal("READY", owner.Call(Chunk("mine.bin", 200_000, data[200_000..])));
        Assert.Equal("READY", owner.Call(Close("mine.bin", data.Length)));
        Assert.Equal(data, server.ReadStored("mine.bin"));
        Assert.Equal(ZmqTransferOutcome.Committed, (await server.NextEventAsync()).Outcome);
    }

    /// <summary>Connects with <paramref name="id"/> until the ROUTER takes it (answers <paramref name="request"/>).</summary>
    private static (TestDealer Dealer, string Reply) TakeOver(ZmqServerFixture server, byte[] id, ReadOnlyMemory<byte>[] request, string? endpoint = null)
    {
        var deadline = DateTime.UtcNow + ZmqServerFixture.Wait;
        while (true)
        {
            var d = new TestDealer(endpoint ?? server.Endpoint, curveServerKey: server.CurveKey, routingId: id);
            d.Socket.ReceiveTimeout = 300;
            d.Send(request);
            var frames = new List<byte[]>();
            if (d.Socket.TryReceiveMessage(frames, out int count))
            {
                d.Socket.ReceiveTimeout = (int)ZmqServerFixture.Wait.TotalMilliseconds;
                string reply = count == 1 ? Encoding.ASCII.GetString(frames[0]) : Encoding.ASCII.GetString(frames[0]) + " " + Encoding.UTF8.GetString(frames[1]);
                return (d, reply);
            }

            d.Dispose();
            Assert.True(DateTime.UtcNow < deadline, "the ROUTER never gave the routing id to a new connection");
        }
    }
}
