using Ferry.Protocol.Security;

namespace Ferry.Security;

/// <summary>What a client concluded about the key a server presented.</summary>
public enum ServerKeyStatus
{
    /// <summary>The key is the pinned one (from <c>--server-key</c> or known_hosts).</summary>
    Trusted,

    /// <summary>The server was unknown; its key was recorded in known_hosts (trust on first use).</summary>
    PinnedNow,

    /// <summary>The server was unknown and its key could not be recorded (known_hosts not writable): trusted this once.</summary>
    NotRecorded,
}

/// <summary>
/// The client's <c>known_hosts</c> file, one <c>host:port fingerprint</c> per line (like OpenSSH's): the first
/// connection to a server records its key and every later connection must present the same one.
/// Location, always an absolute path (<see cref="DefaultPath()"/>): <c>$FERRY_KNOWN_HOSTS</c>, else
/// <c>$FERRY_CONFIG_DIR/known_hosts</c>, else <c>$XDG_CONFIG_HOME/ferry/known_hosts</c>, else
/// <c>$HOME/.config/ferry/known_hosts</c> (the passwd entry's home when HOME is unset), else, for a user without a
/// home, <c>$TMPDIR/ferry-UID/known_hosts</c> in a directory only that user may write.
/// </summary>
public sealed class KnownHosts
{
    private static readonly object s_fileLock = new();

    public KnownHosts(string path)
    {
        Path = System.IO.Path.GetFullPath(path);
    }

    public string Path { get; }

    /// <summary>
    /// Set when the file is the fallback for a user without a home directory: said with every new pin, since such
    /// pins last only as long as the system's temporary directory.
    /// </summary>
    public string? LocationNote { get; private init; }

    private bool InPrivateTemp { get; init; }

    public static KnownHosts Default() => FromRules(Environment.GetEnvironmentVariable, PasswdHome);

    /// <summary><see cref="Default"/> with the environment and the passwd entry's home given (tests).</summary>
    internal static KnownHosts FromRules(Func<string, string?> getenv, Func<string?> passwdHome)
    {
        string path = DefaultPath(getenv, passwdHome, out bool fallback);
        return new KnownHosts(path)
        {
            InPrivateTemp = fallback,
            LocationNote = fallback ? "no home directory; set FERRY_KNOWN_HOSTS to keep pins in a file that lasts" : null,
        };
    }

    public static string DefaultPath() => DefaultPath(Environment.GetEnvironmentVariable, PasswdHome, out _);

    /// <summary>The user's ferry configuration directory (absolute).</summary>
    public static string ConfigDir() => ConfigDir(Environment.GetEnvironmentVariable, PasswdHome, out _);

    /// <summary>The resolution rules, with the environment and the passwd entry's home given (tests).</summary>
    internal static string DefaultPath(Func<string, string?> getenv, Func<string?> passwdHome, out bool fallback)
    {
        if (getenv("FERRY_KNOWN_HOSTS") is { Length: > 0 } file)
        {
            fallback = false;
            return System.IO.Path.GetFullPath(file);
        }

        return System.IO.Path.Combine(ConfigDir(getenv, passwdHome, out fallback), "known_hosts");
    }

    internal static string ConfigDir(Func<string, string?> getenv, Func<string?> passwdHome, out bool fallback)
    {
        fallback = false;
        if (getenv("FERRY_CONFIG_DIR") is { Length: > 0 } dir)
        {
            return System.IO.Path.GetFullPath(dir);
        }

        // XDG Base Directory: a relative $XDG_CONFIG_HOME is invalid and ignored; so is a relative $HOME here, which
        // would otherwise put the pins wherever the command happens to run.
        if (getenv("XDG_CONFIG_HOME") is { } xdg && System.IO.Path.IsPathRooted(xdg))
        {
            return System.IO.Path.Combine(xdg, "ferry");
        }

        string? home = getenv("HOME") is { Length: > 0 } h ? h : passwdHome();
        if (home is not null && System.IO.Path.IsPathRooted(home))
        {
            return System.IO.Path.Combine(home, ".config", "ferry");
        }

        fallback = true;
        return FallbackDir(getenv);
    }

    /// <summary>The private directory of a user without a home: <c>$TMPDIR/ferry-UID</c>.</summary>
    private static string FallbackDir(Func<string, string?> getenv)
    {
        string tmp = getenv("TMPDIR") is { } t && System.IO.Path.IsPathRooted(t) ? t : "/tmp";
        return System.IO.Path.Combine(tmp, $"ferry-{Files.NativeFile.EffectiveUserId}");
    }

    /// <summary>The passwd entry's home directory, as .NET finds it when HOME is unset; null if there is none.</summary>
    private static string? PasswdHome()
    {
        if (Environment.GetEnvironmentVariable("HOME") is { Length: > 0 })
        {
            return null; // .NET would answer with HOME itself, already judged by the caller
        }

        string home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        return home.Length > 0 ? home : null;
    }

    /// <summary>
    /// In the shared temporary directory, pins are trusted only from a directory this user owns and no one else
    /// may write (else anyone could plant a key): created with mode 0700, checked before every use.
    /// </summary>
    private void CheckPrivateDirectory(bool create)
    {
        if (!InPrivateTemp)
        {
            return;
        }

        string dir = System.IO.Path.GetDirectoryName(Path)!;
        if (create && !Directory.Exists(dir) && !OperatingSystem.IsWindows())
        {
            Directory.CreateDirectory(dir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }

        if (!Files.NativeFile.TryStatPath(dir, out var stat, out int errno))
        {
            if (errno == Files.NativeFile.ENOENT && !create)
            {
                return; // nothing pinned yet
            }

            throw new IOException($"cannot use {dir} (errno {errno})");
        }

        if (!stat.IsDirectory || stat.OwnerUid != Files.NativeFile.EffectiveUserId || (stat.Mode & 0x12) != 0)
        {
            throw new IOException($"{dir} is not a private directory of this user (owned by someone else, a link, or writable by others); set FERRY_KNOWN_HOSTS to a file of yours");
        }
    }

    /// <summary>The fingerprint recorded for <paramref name="hostPort"/>, or null.</summary>
    public string? Lookup(string hostPort)
    {
        lock (s_fileLock)
        {
            CheckPrivateDirectory(create: false);
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
            CheckPrivateDirectory(create: true);
            string? dir = System.IO.Path.GetDirectoryName(Path);
            if (dir is not null)
            {
                Directory.CreateDirectory(dir);
            }

            File.AppendAllText(Path, $"{hostPort} {fingerprint}\n");
        }
    }

    /// <summary>Every pin in the file, in file order: (name, key) where name is <c>host:port</c> or <c>zmq:host:port</c>.</summary>
    public IReadOnlyList<(string Name, string Key)> List()
    {
        lock (s_fileLock)
        {
            CheckPrivateDirectory(create: false);
            if (!File.Exists(Path))
            {
                return [];
            }

            var pins = new List<(string, string)>();
            foreach (var raw in File.ReadLines(Path))
            {
                var parts = raw.Trim().Split(' ', StringSplitOptions.RemoveEmptyEntries);
                if (parts.Length >= 2 && parts[0][0] != '#')
                {
                    pins.Add((parts[0], parts[1]));
                }
            }

            return pins;
        }
    }

    /// <summary>
    /// Removes every pin of <paramref name="host"/> (any form: <c>host</c>, <c>[v6]</c>), on <paramref name="port"/>
    /// only when given, whatever the scheme (the <c>zmq:</c> lines too), as <c>ssh-keygen -R</c> does; one server
    /// leaves a line per port it was reached on. Other lines and comments are kept; the file is replaced atomically.
    /// Returns the names of the removed lines.
    /// </summary>
    public IReadOnlyList<string> Remove(string host, int? port)
    {
        string wanted = host.Trim('[', ']').ToLowerInvariant();
        lock (s_fileLock)
        {
            CheckPrivateDirectory(create: false);
            if (!File.Exists(Path))
            {
                return [];
            }

            var kept = new List<string>();
            var removed = new List<string>();
            foreach (var raw in File.ReadLines(Path))
            {
                var parts = raw.Trim().Split(' ', StringSplitOptions.RemoveEmptyEntries);
                if (parts.Length >= 2 && TrySplitName(parts[0], out string h, out int p) && h == wanted && (port is null || port == p))
                {
                    removed.Add(parts[0]);
                }
                else
                {
                    kept.Add(raw);
                }
            }

            if (removed.Count > 0)
            {
                string temp = Path + ".ferry-new";
                File.WriteAllLines(temp, kept);
                File.Move(temp, Path, overwrite: true);
            }

            return removed;
        }
    }

    /// <summary>Host (lower case, no brackets) and port of a known_hosts name: <c>host:port</c>, <c>[v6]:port</c>, <c>zmq:…</c>.</summary>
    private static bool TrySplitName(string name, out string host, out int port)
    {
        if (name.StartsWith("zmq:", StringComparison.OrdinalIgnoreCase))
        {
            name = name[4..];
        }

        int colon = name.LastIndexOf(':');
        host = colon > 0 ? name[..colon].Trim('[', ']').ToLowerInvariant() : string.Empty;
        return int.TryParse(name.AsSpan(colon + 1), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out port) && host.Length > 0;
    }

    /// <summary>
    /// Checks the key a server presented. <paramref name="pinned"/> (from <c>--server-key</c>) wins over the file.
    /// Throws <see cref="ServerKeyMismatchException"/> with a message for the user when the key is not the expected one.
    /// </summary>
    public ServerKeyStatus Verify(string hostPort, string? pinned, string presented) => Verify(hostPort, pinned, presented, out _);

    /// <summary>
    /// <see cref="Verify(string, string?, string)"/>; a new key that cannot be written to the file (no home, a
    /// read-only home) is accepted for this connection as a first use is, and reported as
    /// <see cref="ServerKeyStatus.NotRecorded"/> with the reason in <paramref name="notRecordedWhy"/>.
    /// </summary>
    public ServerKeyStatus Verify(string hostPort, string? pinned, string presented, out string? notRecordedWhy)
    {
        notRecordedWhy = null;
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
            try
            {
                Add(hostPort, presented);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                notRecordedWhy = e.Message;
                return ServerKeyStatus.NotRecorded;
            }

            return ServerKeyStatus.PinnedNow;
        }

        if (KeyFingerprint.Matches(known, presented))
        {
            return ServerKeyStatus.Trusted;
        }

        throw new ServerKeyMismatchException(
            $"the key of {hostPort} has CHANGED: {Path} has {known}, the server presented {presented}. Someone may be " +
            $"intercepting the connection, or the server's key was replaced. If you trust the new key, run 'ferry known-hosts remove {hostPort}' " +
            $"(or remove the line from {Path}), or pass --server-key {presented}");
    }

    /// <summary>The known_hosts name of a server: lower-case host (IPv6 in brackets) and port.</summary>
    public static string HostPort(string host, int port)
    {
        string h = host.Trim('[', ']').ToLowerInvariant();
        return h.Contains(':', StringComparison.Ordinal) ? $"[{h}]:{port}" : $"{h}:{port}";
    }
}
