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
        // udp://  — registered by the reliable-UDP module.
        // tcp://  — registered by the multi-stream TCP module.
        // zmq://  — registered by the ZeroMQ module.
        // tftp:// — registered by the TFTP module.
        Hosting.ServerHost.RegisterProtocol(ctx => ctx.Options.RelayPort is int p ? new Ferry.Relay.RelayListener(ctx, p) : null);
    }
}
