using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using Ferry.Security;

namespace Ferry.Cli;

/// <summary>
/// Prepares, on another core, what every transfer needs before its first packet and that takes milliseconds the
/// first time: the URL parser (Uri's first parse JIT-compiles ~15 framework methods, ~8 ms, IPAddress's another
/// 2 ms; the warm-up parses the command's own URL, so the same code paths get compiled), OpenSSL (libssl,
/// libcrypto, openssl.cnf; used for the connection id, the file's SHA-256 and the key exchange),
/// System.Net.Sockets (its assembly, static state and telemetry source) and, for an encrypted udp:// transfer, what
/// the server's handshake reply will need. The main thread meanwhile builds and parses the command line; when it
/// gets there, the work is done (or it waits for the type initializer the warm-up is running, never does it twice).
/// Only a warm-up: it changes nothing the command sees (the one decision it takes early, OpenSSL AES-GCM or not,
/// is the one the first cipher would take), and any failure here is left for the real code to meet and report.
/// </summary>
internal static class StartupWarmup
{
    private static Thread? s_thread;

    /// <summary>Starts the warm-up for <c>ferry send</c> and <c>ferry get</c>; does nothing for other commands or help.</summary>
    public static void StartFor(string[] args)
    {
        if (args.Length == 0 || args[0] is not ("send" or "get") || Array.Exists(args, a => a is "--help" or "-h" or "-?"))
        {
            return;
        }

        bool encrypted = Array.IndexOf(args, "--insecure") < 0;
        string? url = Array.Find(args, a => a.Contains("://", StringComparison.Ordinal));
        // In the order the main thread needs them. (A second warm-up thread was tried: three busy threads on two
        // cores slowed the command-line parsing as much as they saved.)
        s_thread = new Thread(() =>
        {
            Guard(() => WarmUrl(url));
            Guard(() => WarmOpenSsl(encrypted));
            Guard(WarmSockets);
            if (encrypted && url is not null && url.StartsWith("udp://", StringComparison.OrdinalIgnoreCase))
            {
                Guard(WarmHandshake);
            }
        })
        {
            IsBackground = true,
            Name = "ferry warm-up",
        };
        s_thread.Start();
    }

    /// <summary>
    /// Waits (briefly) for the warm-up before the process exits, so that OpenSSL's exit-time cleanup never runs
    /// while another thread is still initialising it (a command that fails at once, e.g. on a usage error).
    /// Returns false if the warm-up was still running after that wait.
    /// </summary>
    public static bool Finish() => s_thread?.Join(TimeSpan.FromSeconds(2)) ?? true;

    /// <summary>True once <see cref="StartFor"/> started a warm-up in this process.</summary>
    internal static bool Started => s_thread is not null;

    /// <summary>Parses the command's own URL as the command will, so the same framework code gets compiled.</summary>
    private static void WarmUrl(string? url)
    {
        if (url is not null)
        {
            // Throws on a bad URL: Guard drops it, the command reports it.
            var uri = Ferry.Transfers.TransferClients.ParseUrl(url);
            _ = uri.IsDefaultPort ? 0 : uri.Port;
            _ = IPAddress.TryParse(uri.Host.Trim('[', ']'), out _);
        }
    }

    /// <summary>
    /// What the client meets when the server's handshake reply arrives, a few milliseconds after the first packet:
    /// the server key's import (ASN.1) and signature check, the key agreement, HKDF, and the OpenSSL AES-GCM
    /// cipher's one-time self-test (made here instead of at the first cipher: the same decision, taken earlier).
    /// </summary>
    private static void WarmHandshake()
    {
        using var server = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        byte[] spki = server.ExportSubjectPublicKeyInfo();
        using var verifier = ECDsa.Create();
        verifier.ImportSubjectPublicKeyInfo(spki, out _);
        _ = verifier.VerifyData(spki, new byte[64], HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation);
        using var ours = ECDiffieHellman.Create(ECCurve.NamedCurves.nistP256);
        var point = ours.ExportParameters(includePrivateParameters: false).Q;
        var parameters = new ECParameters { Curve = ECCurve.NamedCurves.nistP256, Q = point };
        parameters.Validate();
        using var peer = ECDiffieHellman.Create(parameters);
        byte[] shared = ours.DeriveRawSecretAgreement(peer.PublicKey);
        Span<byte> prk = stackalloc byte[32];
        HKDF.Extract(HashAlgorithmName.SHA256, shared, spki, prk);
        HKDF.Expand(HashAlgorithmName.SHA256, prk, prk, "ferry warm-up"u8);
        _ = OpenSslAesGcm.TryInstall();
    }

    private static void WarmSockets()
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
    }

    private static void WarmOpenSsl(bool encrypted)
    {
        Span<byte> bytes = stackalloc byte[32];
        RandomNumberGenerator.Fill(bytes[..8]);
        SHA256.HashData(bytes[..8], bytes);
        if (encrypted)
        {
            // The handshake's ephemeral key: the first EC key pays for OpenSSL's EC setup.
            using var key = ECDiffieHellman.Create(ECCurve.NamedCurves.nistP256);
        }
    }

    private static void Guard(Action warm)
    {
        try
        {
            warm();
        }
#pragma warning disable CA1031 // An exception escaping this thread would end the process: a warm-up must never do that.
        catch (Exception)
#pragma warning restore CA1031
        {
            // Nothing to warm: the command itself will meet (and report) whatever is wrong.
        }
    }
}
