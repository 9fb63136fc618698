using System.Net.Sockets;
using System.Security.Cryptography;

namespace Ferry.Cli;

/// <summary>
/// Loads, on another core, what every transfer needs before its first packet and that takes milliseconds to set up
/// the first time: OpenSSL (libssl, libcrypto, openssl.cnf; used for the connection id, the file's SHA-256 and the
/// key exchange) and System.Net.Sockets (its assembly, static state and telemetry source). The main thread
/// meanwhile builds and parses the command line; when it gets there, the work is done (or it waits for the type
/// initializer the warm-up is running, never does it twice). Only a warm-up: it changes no state the command sees,
/// and any failure here is left for the real code to meet and report.
/// </summary>
internal static class StartupWarmup
{
    private static Thread? s_thread;

    /// <summary>Starts the warm-up for <c>ferry send</c> and <c>ferry get</c>; does nothing for other commands.</summary>
    public static void StartFor(string[] args)
    {
        if (args.Length == 0 || args[0] is not ("send" or "get"))
        {
            return;
        }

        bool encrypted = Array.IndexOf(args, "--insecure") < 0;
        s_thread = new Thread(() => Run(encrypted)) { IsBackground = true, Name = "ferry warm-up" };
        s_thread.Start();
    }

    /// <summary>
    /// Waits (briefly) for the warm-up before the process exits, so that OpenSSL's exit-time cleanup never runs
    /// while another thread is still initialising it (a command that fails at once, e.g. on a usage error).
    /// </summary>
    public static void Finish() => s_thread?.Join(TimeSpan.FromSeconds(2));

    private static void Run(bool encrypted)
    {
        try
        {
            Span<byte> bytes = stackalloc byte[32];
            RandomNumberGenerator.Fill(bytes[..8]);
            SHA256.HashData(bytes[..8], bytes);
            if (encrypted)
            {
                // The handshake's ephemeral key: the first EC key pays for OpenSSL's EC setup.
                using var key = ECDiffieHellman.Create(ECCurve.NamedCurves.nistP256);
            }

            using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        }
        catch (Exception e) when (e is CryptographicException or SocketException or PlatformNotSupportedException or DllNotFoundException)
        {
            // Nothing to warm: the command itself will meet (and report) whatever is wrong.
        }
    }
}
