using Ferry.Hosting;
using Ferry.Tcp;
using Ferry.Transfers;
using Ferry.Udp;

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
        TransferClients.Register("udp", () => new UdpTransferClient());
        ServerHost.RegisterProtocol(ctx => ctx.Options.UdpPort is int p ? new UdpServerListener(ctx, ctx.Options.Bind, p) : null);
        TransferClients.Register("tcp", () => new TcpTransferClient());
        ServerHost.RegisterProtocol(ctx => ctx.Options.TcpPort is int tcpPort ? new TcpTransferListener(ctx, tcpPort) : null);
        // zmq://  — registered by the ZeroMQ module.
        // tftp:// — registered by the TFTP module.
    }
}
