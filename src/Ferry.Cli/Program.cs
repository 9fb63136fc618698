using System.CommandLine;
using System.Runtime.InteropServices;
using Ferry.Cli.Commands;

namespace Ferry.Cli;

internal static class Program
{
    // Not async: an async Main is this same blocking wait behind one more state machine, JIT-compiled at each start.
    private static int Main(string[] args)
    {
        StartupWarmup.StartFor(args);
        try
        {
            return Run(args);
        }
        finally
        {
            StartupWarmup.Finish();
        }
    }

    private static int Run(string[] args)
    {
        Registration.RegisterAll();
        var root = new RootCommand("ferry: move files and messages between machines, fast and without losing a byte.\n"
            + "URL schemes: udp:// (default port 7700), tcp:// (7701), zmq:// (7702), tftp:// (69).")
        {
            ServeCommand.Create(),
            TransferCommands.Send(),
            TransferCommands.Get(),
            LsCommand.Create(),
            ChatCommand.Create(),
            TokenCommand.Create(),
            KnownHostsCommand.Create(),
        };

        // Ctrl+C and SIGTERM cancel the running command, which then stops cleanly (partial data kept for resume,
        // servers close their connections). A second Ctrl+C ends the process at once.
        using var cts = new CancellationTokenSource();
        int signals = 0;
        void OnSignal(PosixSignalContext context)
        {
            if (Interlocked.Increment(ref signals) == 1)
            {
                context.Cancel = true;
                // Cancel off the signal thread so shutdown code runs like any other code.
                ThreadPool.QueueUserWorkItem(_ => cts.Cancel());
            }
        }

        using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal);
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal);
        var config = new InvocationConfiguration { ProcessTerminationTimeout = null };
        // No response files: an argument starting with '@' is a value (a ZeroMQ CURVE key in Z85 may start with
        // '@'), never the name of a file of more arguments.
        var parsing = new ParserConfiguration { ResponseFileTokenReplacer = null };
        var parse = root.Parse(args, parsing);
        if (parse.Action is System.CommandLine.Invocation.ParseErrorAction || UsageErrors.OptionTakenAsArgument(parse) is not null)
        {
            // The parser's own report is the whole help on stdout and exit code 1; a usage error is exit code 2.
            return UsageErrors.Report(parse, args);
        }

        return parse.InvokeAsync(config, cts.Token).GetAwaiter().GetResult();
    }
}
