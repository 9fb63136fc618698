using System.CommandLine;
using Ferry.Cli.Commands;

namespace Ferry.Cli;

internal static class Program
{
    private static async Task<int> Main(string[] args)
    {
        Registration.RegisterAll();
        var root = new RootCommand("ferry: move files and messages between machines, fast and without losing a byte.\n"
            + "URL schemes: udp:// (default port 7700), tcp:// (7701), zmq:// (7702), tftp:// (69).")
        {
            ServeCommand.Create(),
            TransferCommands.Send(),
            TransferCommands.Get(),
            ChatCommand.Create(),
        };
        return await root.Parse(args).InvokeAsync().ConfigureAwait(false);
    }
}
