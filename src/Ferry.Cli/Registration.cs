using Ferry.Hosting;
using Ferry.Relay;
using Ferry.Security;
using Ferry.Tcp;
using Ferry.Tftp;
using Ferry.Transfers;
using Ferry.Udp;
using Ferry.Zmq;
using Ferry.Zmq.Client;

namespace Ferry.Cli;

/// <summary>Registers every protocol's client (by URL scheme) and server listener. One line per protocol.</summary>
internal static class Registration
{
    private static bool s_done;

    public static void RegisterAll()
    {
        if (s_done)
        {
            return;
        }

        s_done = true;
        // udp:// and the relay seal every datagram: use OpenSSL's AES-GCM directly when it passes its self-test
        // (decided when the first cipher is made, so commands that never encrypt a datagram skip it).
        OpenSslAesGcm.InstallOnFirstUse();
        TransferClients.Register("udp", () => new UdpTransferClient());
        ServerHost.RegisterProtocol("udp", o => o.UdpPort, (ctx, p) => new UdpServerListener(ctx, ctx.Options.Bind, p));
        TransferClients.Register("tcp", () => new TcpTransferClient());
        ServerHost.RegisterProtocol("tcp", o => o.TcpPort, (ctx, p) => new TcpTransferListener(ctx, p));
        ServerHost.RegisterProtocol("relay", o => o.RelayPort, (ctx, p) => new RelayListener(ctx, p));
        TransferClients.Register("tftp", () => new TftpClient());
        ServerHost.RegisterProtocol("tftp", o => o.TftpPort, (ctx, p) => new TftpListener(ctx, p));
        TransferClients.Register("zmq", () => new ZmqTransferClient());
        ServerHost.RegisterProtocol("zmq", o => o.ZmqPort, ZmqListener.CreateOrExplain);
    }
}
