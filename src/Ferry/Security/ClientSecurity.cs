using Ferry.Protocol.Security;
using Ferry.Transfers;

namespace Ferry.Security;

/// <summary>What every scheme's client does with the key a server presented: check it against the pin, or pin it.</summary>
public static class ClientSecurity
{
    // A client with several connections to one server (tcp:// streams) verifies the key on each: say "not pinned" once.
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, byte> s_notPinnedSaid = new();

    /// <summary>
    /// Throws <see cref="TransferException"/> (<see cref="ExitCode.ServerKeyMismatch"/>) unless
    /// <paramref name="subjectPublicKeyInfo"/> is the key pinned for host:port; pins it on first use.
    /// </summary>
    /// <param name="describe">Whether to tell <see cref="ClientOptions.Verbose"/> (once per transfer, not per connection).</param>
    public static void VerifyServerKey(ClientOptions options, string host, int port, ReadOnlySpan<byte> subjectPublicKeyInfo, bool describe = true)
    {
        var status = VerifyServerKey(options.ServerKey, options.KnownHosts, options.Notice, host, port, subjectPublicKeyInfo);
        (describe ? options.Verbose : null)?.Invoke($"server key {KeyFingerprint.Of(subjectPublicKeyInfo)}: " + (status == ServerKeyStatus.PinnedNow
            ? "new, pinned now"
            : status == ServerKeyStatus.NotRecorded ? "new, accepted but not pinned"
            : options.ServerKey is null ? "matches the pinned key" : "matches --server-key"));
    }

    /// <summary>The same check for clients without <see cref="ClientOptions"/> (the relay).</summary>
    public static ServerKeyStatus VerifyServerKey(string? pinned, KnownHosts? hosts, Action<string>? notice, string host, int port, ReadOnlySpan<byte> subjectPublicKeyInfo)
    {
        string fingerprint = KeyFingerprint.Of(subjectPublicKeyInfo);
        string hostPort = KnownHosts.HostPort(host, port);
        var knownHosts = hosts ?? KnownHosts.Default();
        try
        {
            var status = knownHosts.Verify(hostPort, pinned, fingerprint, out string? why);
            switch (status)
            {
                case ServerKeyStatus.PinnedNow:
                    notice?.Invoke($"new server {hostPort}: key {fingerprint} pinned in {knownHosts.Path}"
                        + (knownHosts.LocationNote is { } note ? $" ({note})" : string.Empty));
                    break;
                case ServerKeyStatus.NotRecorded when s_notPinnedSaid.TryAdd($"{knownHosts.Path} {hostPort}", 0):
                    notice?.Invoke($"new server {hostPort}: key {fingerprint} accepted for this connection but NOT pinned: cannot write " +
                        $"{knownHosts.Path} ({why}); set FERRY_KNOWN_HOSTS to a writable file, or pass --server-key {fingerprint}");
                    break;
            }

            return status;
        }
        catch (ServerKeyMismatchException e)
        {
            throw new TransferException(ExitCode.ServerKeyMismatch, e.Message);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new TransferException(ExitCode.LocalIo, $"cannot read the pinned server keys in {knownHosts.Path}: {e.Message}; set FERRY_KNOWN_HOSTS to another file", e);
        }
    }

    /// <summary>
    /// Refuses (<see cref="ExitCode.Usage"/>) a <c>--server-key</c> that is not a key fingerprint (<c>SHA256:</c> and
    /// 43 base64 characters; the prefix may be left out), before anything is sent: a mistyped pin would otherwise only
    /// show up as a "key changed" alarm after the handshake, or as a wait for a server that never answers.
    /// </summary>
    public static void RequireWellFormedPin(string? pinned)
    {
        if (pinned is null)
        {
            return;
        }

        string full = pinned.StartsWith(KeyFingerprint.Prefix, StringComparison.Ordinal) ? pinned : KeyFingerprint.Prefix + pinned;
        if (!KeyFingerprint.IsWellFormed(full))
        {
            throw new TransferException(ExitCode.Usage, $"--server-key '{pinned}' is not a server key fingerprint: expected SHA256: and 43 base64 characters, as 'ferry serve' prints");
        }
    }

    /// <summary>The token to send: the option, else FERRY_TOKEN, else none.</summary>
    public static string? Token(ClientOptions options) => Token(options.Token);

    /// <summary>The token to send: <paramref name="token"/>, else FERRY_TOKEN, else none.</summary>
    public static string? Token(string? token) =>
        token ?? (Environment.GetEnvironmentVariable("FERRY_TOKEN") is { Length: > 0 } t ? t : null);
}
