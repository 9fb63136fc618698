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
        ServerHost.RegisterProtocol(ctx => ctx.Options.UdpPort is int p ? new UdpServerListener(ctx, ctx.Options.Bind, p) : null);
        TransferClients.Register("tcp", () => new TcpTransferClient());
        ServerHost.RegisterProtocol(ctx => ctx.Options.TcpPort is int p ? new TcpTransferListener(ctx, p) : null);
        ServerHost.RegisterProtocol(ctx => ctx.Options.RelayPort is int p ? new RelayListener(ctx, p) : null);
        TransferClients.Register("tftp", () => new TftpClient());
        ServerHost.RegisterProtocol(ctx => ctx.Options.TftpPort is int p ? new TftpListener(ctx, p) : null);
        TransferClients.Register("zmq", () => new ZmqTransferClient());
        ServerHost.RegisterProtocol(ctx => ctx.Options.ZmqPort is int p ? ZmqListener.CreateOrExplain(ctx, p) : null);
    }
}
