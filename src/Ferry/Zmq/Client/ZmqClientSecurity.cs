using Ferry.Protocol.Security;
using Ferry.Security;
using Ferry.Transfers;
using Ferry.Zmq.Native;

namespace Ferry.Zmq.Client;

/// <summary>
/// How a zmq:// client finds the server's CURVE key before connecting (CURVE cannot learn it in the handshake):
/// <c>--server-key</c> first, else the known_hosts line named <c>zmq:host:port</c>. There is deliberately no
/// trust-on-first-use fetch: the key is given once, out of band (as <c>ferry serve</c> printed it), and pinned
/// after the first successful connection, so even the first upload cannot be intercepted.
/// </summary>
public static class ZmqClientSecurity
{
    /// <summary>The known_hosts name of a zmq:// server: <c>zmq:</c> and its host:port (kept apart from the SHA256 fingerprints of udp/tcp).</summary>
    public static string KnownHostsName(string host, int port) => "zmq:" + KnownHosts.HostPort(host, port);

    /// <summary>
    /// The server key to use, or null for a plain (<c>--insecure</c>) connection. Throws <see cref="TransferException"/>
    /// with <see cref="ExitCode.Usage"/> when the key is unknown, malformed, or CURVE is missing here.
    /// </summary>
    public static ZmqServerKey? Resolve(string host, int port, ClientOptions options)
    {
        if (options.Insecure)
        {
            return null;
        }

        if (!ZmqCurve.IsAvailable)
        {
            throw new TransferException(ExitCode.Usage, $"{ZmqCurve.MissingHint}; pass --insecure to upload in cleartext (the server must run with --insecure too)");
        }

        string name = KnownHostsName(host, port);
        var knownHosts = options.KnownHosts ?? KnownHosts.Default();
        string? known;
        try
        {
            known = knownHosts.Lookup(name);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new TransferException(ExitCode.LocalIo, $"cannot read {knownHosts.Path}: {e.Message}", e);
        }

        if (options.ServerKey is { } given)
        {
            given = given.Trim();
            if (given.StartsWith(KeyFingerprint.Prefix, StringComparison.Ordinal))
            {
                throw new TransferException(ExitCode.Usage,
                    "zmq:// needs the server's CURVE key (40 characters, printed by 'ferry serve' as 'zmq CURVE key'), not its SHA256 fingerprint");
            }

            if (!ZmqCurve.TryDecodeKey(given, out byte[] key))
            {
                throw new TransferException(ExitCode.Usage,
                    $"--server-key '{given}' is not a zmq CURVE key: expected 40 Z85 characters, as 'ferry serve' prints after 'zmq CURVE key'");
            }

            if (known is not null && known != given)
            {
                options.Notice?.Invoke($"{knownHosts.Path} has key {known} for {name}; using {ZmqServerCurveKey.ServerKeyArgument(given)} (the file is left as it is)");
            }

            return new ZmqServerKey(key, given, "--server-key", name, Pinned: known is not null);
        }

        if (known is null)
        {
            throw new TransferException(ExitCode.Usage,
                $"the zmq:// CURVE key of {KnownHosts.HostPort(host, port)} is not known: pass --server-key KEY with the 'zmq CURVE key' that " +
                $"'ferry serve' printed (it is then pinned in {knownHosts.Path}), or --insecure if the server runs with --insecure");
        }

        if (!ZmqCurve.TryDecodeKey(known, out byte[] pinned))
        {
            throw new TransferException(ExitCode.Usage, $"{knownHosts.Path} has a damaged key for {name}: remove that line and pass --server-key");
        }

        return new ZmqServerKey(pinned, known, knownHosts.Path, name, Pinned: true);
    }

    /// <summary>Records a key given with --server-key once a server proved it holds it (it answered over CURVE).</summary>
    public static void PinAfterSuccess(ZmqServerKey key, ClientOptions options)
    {
        if (key.Pinned)
        {
            return;
        }

        var knownHosts = options.KnownHosts ?? KnownHosts.Default();
        try
        {
            if (knownHosts.Lookup(key.KnownHostsName) is null)
            {
                knownHosts.Add(key.KnownHostsName, key.Z85);
                options.Notice?.Invoke($"{key.KnownHostsName}: CURVE key {key.Z85} pinned in {knownHosts.Path}");
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // The upload itself is fine; only the convenience of not passing --server-key next time is lost.
            options.Notice?.Invoke($"could not record the server key in {knownHosts.Path}: {e.Message}");
        }
    }
}
