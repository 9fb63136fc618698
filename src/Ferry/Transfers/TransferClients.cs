namespace Ferry.Transfers;

/// <summary>Finds the client for a URL scheme. Each protocol registers one factory here.</summary>
public static class TransferClients
{
    private static readonly Dictionary<string, Func<ITransferClient>> s_factories = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>Schemes with a registered client, for help and error texts.</summary>
    public static IEnumerable<string> Schemes => s_factories.Keys.Order(StringComparer.Ordinal);

    public static void Register(string scheme, Func<ITransferClient> factory) => s_factories[scheme] = factory;

    /// <summary>Returns the client for <paramref name="url"/>'s scheme or throws a usage error naming the known ones.</summary>
    public static ITransferClient For(Uri url)
    {
        if (s_factories.TryGetValue(url.Scheme, out var factory))
        {
            return factory();
        }

        throw new TransferException(ExitCode.Usage, $"unknown URL scheme '{url.Scheme}://' (known: {string.Join(", ", Schemes.Select(s => s + "://"))})");
    }

    /// <summary>
    /// Parses a transfer URL, <c>scheme://host[:port]/path</c>: the path is everything after the first '/' that
    /// follows the host and port, taken literally (see <see cref="RemoteUrl"/>). Throws a usage error with a clear text.
    /// </summary>
    public static RemoteUrl ParseUrl(string text)
    {
        int schemeEnd = text.IndexOf("://", StringComparison.Ordinal);
        if (schemeEnd > 0 && IsScheme(text.AsSpan(0, schemeEnd)))
        {
            int authorityStart = schemeEnd + 3;
            int slash = text.IndexOf('/', authorityStart);
            string serverUrl = (slash < 0 ? text : text[..slash]) + "/";
            string path = slash < 0 ? string.Empty : text[(slash + 1)..].TrimStart('/');
            // The part before the path is a host and an optional port and nothing else (no user, no query, no
            // fragment): Uri must read it back as exactly that.
            if (Uri.TryCreate(serverUrl, UriKind.Absolute, out var server) && server.Host.Length > 0 && server.UserInfo.Length == 0
                && server.AbsolutePath == "/" && server.Query.Length == 0 && server.Fragment.Length == 0)
            {
                return new RemoteUrl(text, serverUrl, path);
            }
        }

        throw new TransferException(ExitCode.Usage, $"'{text}' is not a URL; expected scheme://host[:port]/path, e.g. udp://127.0.0.1:7700/dir/file");
    }

    /// <summary>
    /// The remote path of a URL without the leading slash, exactly as written (a <see cref="Uri"/> built elsewhere is
    /// read by the same rule from its original string). Throws a usage error if it names no file.
    /// </summary>
    public static string RemotePath(Uri url)
    {
        var remote = url as RemoteUrl ?? ParseUrl(url.OriginalString);
        string path = remote.Path;
        string server = $"{remote.Scheme}://{remote.Authority}";
        if (path.Length == 0)
        {
            throw new TransferException(ExitCode.Usage, $"'{remote}' names no file: add a path after the host, e.g. {server}/file");
        }

        if (path.EndsWith('/'))
        {
            throw new TransferException(ExitCode.Usage, $"{remote} names a directory; give the file name: {server}/{path}NAME");
        }

        return path;
    }

    /// <summary>The remote path of a URL for a listing: "" (the root) and a trailing '/' are fine.</summary>
    public static string ListPath(Uri url)
    {
        var remote = url as RemoteUrl ?? ParseUrl(url.OriginalString);
        return remote.Path.TrimEnd('/');
    }

    // RFC 3986: ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )
    private static bool IsScheme(ReadOnlySpan<char> scheme)
    {
        if (!char.IsAsciiLetter(scheme[0]))
        {
            return false;
        }

        foreach (char c in scheme)
        {
            if (!char.IsAsciiLetterOrDigit(c) && c is not ('+' or '-' or '.'))
            {
                return false;
            }
        }

        return true;
    }
}
