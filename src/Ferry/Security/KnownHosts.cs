using Ferry.Protocol.Security;

namespace Ferry.Security;

/// <summary>What a client concluded about the key a server presented.</summary>
public enum ServerKeyStatus
{
    /// <summary>The key is the pinned one (from <c>--server-key</c> or known_hosts).</summary>
    Trusted,

    /// <summary>The server was unknown; its key was recorded in known_hosts (trust on first use).</summary>
    PinnedNow,
}

/// <summary>
/// The client's <c>known_hosts</c> file, one <c>host:port fingerprint</c> per line (like OpenSSH's): the first
/// connection to a server records its key and every later connection must present the same one.
/// Location: <c>$FERRY_KNOWN_HOSTS</c>, else <c>$FERRY_CONFIG_DIR/known_hosts</c>, else
/// <c>$XDG_CONFIG_HOME/ferry/known_hosts</c>, else <c>~/.config/ferry/known_hosts</c>.
/// </summary>
public sealed class KnownHosts
{
    private static readonly object s_fileLock = new();

    public KnownHosts(string path)
    {
        Path = path;
    }

    public string Path { get; }

    public static KnownHosts Default() => new(DefaultPath());

    public static string DefaultPath()
    {
        if (Environment.GetEnvironmentVariable("FERRY_KNOWN_HOSTS") is { Length: > 0 } file)
        {
            return file;
        }

        return System.IO.Path.Combine(ConfigDir(), "known_hosts");
    }

    /// <summary>The user's ferry configuration directory.</summary>
    public static string ConfigDir()
    {
        if (Environment.GetEnvironmentVariable("FERRY_CONFIG_DIR") is { Length: > 0 } dir)
        {
            return dir;
        }

        string config = Environment.GetEnvironmentVariable("XDG_CONFIG_HOME") is { Length: > 0 } xdg
            ? xdg
            : System.IO.Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".config");
        return System.IO.Path.Combine(config, "ferry");
    }

    /// <summary>The fingerprint recorded for <paramref name="hostPort"/>, or null.</summary>
    public string? Lookup(string hostPort)
    {
        lock (s_fileLock)
        {
            if (!File.Exists(Path))
            {
                return null;
            }

            foreach (var raw in File.ReadLines(Path))
            {
                var line = raw.Trim();
                if (line.Length == 0 || line[0] == '#')
                {
                    continue;
                }

                var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                if (parts.Length >= 2 && string.Equals(parts[0], hostPort, StringComparison.OrdinalIgnoreCase))
                {
                    return parts[1];
                }
            }

            return null;
        }
    }

    /// <summary>Appends a line for <paramref name="hostPort"/> (the caller checked there was none).</summary>
    public void Add(string hostPort, string fingerprint)
    {
        lock (s_fileLock)
        {
            string? dir = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(Path));
            if (dir is not null)
            {
                Directory.CreateDirectory(dir);
            }

            File.AppendAllText(Path, $"{hostPort} {fingerprint}\n");
        }
    }

    /// <summary>
    /// Checks the key a server presented. <paramref name="pinned"/> (from <c>--server-key</c>) wins over the file.
    /// Throws <see cref="ServerKeyMismatchException"/> with a message for the user when the key is not the expected one.
    /// </summary>
    public ServerKeyStatus Verify(string hostPort, string? pinned, string presented)
    {
        if (pinned is not null)
        {
            if (KeyFingerprint.Matches(pinned, presented))
            {
                return ServerKeyStatus.Trusted;
            }

            throw new ServerKeyMismatchException(
                $"the server at {hostPort} presented key {presented}, not the {pinned} given with --server-key; refusing to continue");
        }

        var known = Lookup(hostPort);
        if (known is null)
        {
            Add(hostPort, presented);
            return ServerKeyStatus.PinnedNow;
        }

        if (KeyFingerprint.Matches(known, presented))
        {
            return ServerKeyStatus.Trusted;
        }

        throw new ServerKeyMismatchException(
            $"the key of {hostPort} has CHANGED: {Path} has {known}, the server presented {presented}. Someone may be " +
            $"intercepting the connection, or the server's key was replaced. If you trust the new key, remove the line " +
            $"for {hostPort} from {Path} or pass --server-key {presented}");
    }

    /// <summary>The known_hosts name of a server: lower-case host (IPv6 in brackets) and port.</summary>
    public static string HostPort(string host, int port)
    {
        string h = host.Trim('[', ']').ToLowerInvariant();
        return h.Contains(':', StringComparison.Ordinal) ? $"[{h}]:{port}" : $"{h}:{port}";
    }
}
