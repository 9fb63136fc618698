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

    /// <summary>Parses a transfer URL: scheme://host[:port]/path. Throws a usage error with a clear text.</summary>
    public static Uri ParseUrl(string text)
    {
        if (!Uri.TryCreate(text, UriKind.Absolute, out var uri) || string.IsNullOrEmpty(uri.Host) || !text.Contains("://", StringComparison.Ordinal))
        {
            throw new TransferException(ExitCode.Usage, $"'{text}' is not a URL; expected scheme://host[:port]/path, e.g. udp://127.0.0.1:7700/dir/file");
        }

        return uri;
    }

    /// <summary>The remote path of a URL without the leading slash, unescaped.</summary>
    public static string RemotePath(Uri url)
    {
        string path = Uri.UnescapeDataString(url.AbsolutePath).TrimStart('/');
        if (path.Length == 0)
        {
            throw new TransferException(ExitCode.Usage, $"'{url}' names no file: add a path after the host, e.g. {url.Scheme}://{url.Authority}/file");
        }

        return path;
    }
}
