using System.Diagnostics;
using System.Net;
using System.Text.RegularExpressions;
using Ferry.Hosting;
using Ferry.Tests.Support;

namespace Ferry.Tests.Hosting;

/// <summary>Servers for start-up tests: in-process hosts with one protocol, and the real <c>ferry serve</c>.</summary>
internal static class ServeHarness
{
    public static readonly TimeSpan Bound = TimeSpan.FromSeconds(60);

    /// <summary>Options serving only <paramref name="protocol"/> on <paramref name="port"/>, on 127.0.0.1.</summary>
    public static ServerOptions Options(string dir, string protocol, int port) => new()
    {
        Root = Path.Combine(dir, "root"),
        StateDir = Path.Combine(dir, "state"),
        Bind = IPAddress.Loopback,
        UdpPort = protocol == "udp" ? port : null,
        TcpPort = protocol == "tcp" ? port : null,
        ZmqPort = protocol == "zmq" ? port : null,
        RelayPort = protocol == "relay" ? port : null,
        TftpPort = protocol == "tftp" ? port : null,
    };

    /// <summary>Starts a host as <c>ferry serve</c> does (every protocol registered, directories created).</summary>
    public static Task<ServerHost> StartAsync(ServerOptions options, TextWriter? log = null)
    {
        Ferry.Cli.Registration.RegisterAll();
        var context = Ferry.Cli.ServerBootstrap.CreateContext(options, log ?? TextWriter.Null);
        return ServerHost.StartAsync(context);
    }

    /// <summary>Starts <c>ferry ARGS</c> and waits for its "NAME listening on ADDR:PORT" line; returns the port.</summary>
    public static async Task<(FerryProcess Process, int Port)> StartServeAsync(string protocol, params string[] args)
    {
        var process = new FerryProcess(["serve", .. args]);
        var deadline = Stopwatch.StartNew();
        var listening = new Regex($@"{protocol}\s+listening on \S+:(\d+)");
        while (deadline.Elapsed < Bound)
        {
            if (listening.Match(process.StandardError) is { Success: true } m)
            {
                return (process, int.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture));
            }

            if (process.HasExited)
            {
                break;
            }

            // FerryProcess collects stderr asynchronously; poll it (bounded by the deadline above).
            await Task.Delay(20);
        }

        string stderr = process.StandardError;
        process.Dispose();
        throw new TimeoutException($"ferry serve did not report its {protocol} port: {stderr}");
    }

    /// <summary>Runs <c>ferry ARGS</c> to its end; returns the exit code and standard error.</summary>
    public static async Task<(int ExitCode, string Stderr)> RunAsync(params string[] args)
    {
        using var process = new FerryProcess(args);
        int code = await process.WaitExitAsync(Bound);
        return (code, process.StandardError);
    }

    /// <summary>Arguments of <c>ferry serve</c> with every listener off but <paramref name="protocol"/> on <paramref name="port"/>.</summary>
    public static string[] Only(string root, string state, string protocol, int port)
    {
        string Port(string name) => name == protocol ? port.ToString(System.Globalization.CultureInfo.InvariantCulture) : "-1";
        string[] args =
        [
            "--root", root, "--state-dir", state, "--bind", "127.0.0.1", "--port", Port("udp"),
            "--tcp-port", Port("tcp"), "--zmq-port", Port("zmq"), "--relay-port", Port("relay"),
        ];
        return protocol == "tftp" ? [.. args, "--tftp-port", Port("tftp")] : args;
    }
}
