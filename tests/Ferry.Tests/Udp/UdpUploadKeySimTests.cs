using Ferry.Protocol.Udp;
using Ferry.Protocol.Udp.Wire;
using Ferry.Tests.Udp.Sim;

namespace Ferry.Tests.Udp;

/// <summary>UPLOAD_KEY: the client's upload key reaches the server with the first REQUEST it acts on, and only then.</summary>
public class UdpUploadKeySimTests
{
    private static readonly byte[] s_key = Enumerable.Range(1, FrameCodec.UploadKeyLength).Select(i => (byte)(0xA0 + i)).ToArray();

    private static byte[] Data(int length)
    {
        var data = new byte[length];
        new Random(length).NextBytes(data);
        return data;
    }

    [Fact]
    public void The_upload_key_goes_with_the_request_and_the_server_sees_it()
    {
        var sim = new SimTransfer(7, LinkConfig.Clean, LinkConfig.Clean) { UploadKey = s_key };
        var data = Data(200_000);
        var r = sim.RunPut("up.bin", data);
        Assert.True(r.Completed, r.ClientMessage);
        var request = Assert.Single(sim.ServerEvents, e => e.Kind == ConnectionEventKind.RequestReceived);
        Assert.Equal(s_key, request.UploadKey);
    }

    [Fact]
    public void A_lost_first_request_is_sent_again_without_the_key_so_a_server_that_drops_unknown_frames_still_serves_it()
    {
        // A server older than UPLOAD_KEY drops the packet that carries it: here the first protected Initial (the REQUEST
        // with the key) is lost. The REQUEST's next copy goes without the key and the upload completes.
        bool dropped = false;
        var sim = new SimTransfer(8, LinkConfig.Clean, LinkConfig.Clean) { UploadKey = s_key };
        sim.UpFilter = d =>
        {
            if (!dropped && d[2] == (byte)PacketType.Initial && (d[3] & Packet.FlagProtected) != 0)
            {
                dropped = true;
                return null;
            }

            return d;
        };
        var data = Data(200_000);
        var r = sim.RunPut("up.bin", data);
        Assert.True(dropped);
        Assert.True(r.Completed, r.ClientMessage);
        var request = Assert.Single(sim.ServerEvents, e => e.Kind == ConnectionEventKind.RequestReceived);
        Assert.Null(request.UploadKey);
    }
}
