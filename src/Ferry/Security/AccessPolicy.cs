namespace Ferry.Security;

/// <summary>
/// Who may do what on a server. Open (anyone may read and write, as before tokens existed) only while no token is
/// configured and <c>--require-token</c> is off; otherwise every request needs a token that allows it. One
/// instance serves every protocol of a server.
/// </summary>
public sealed class AccessPolicy
{
    public AccessPolicy(TokenStore? store, bool requireToken)
    {
        Store = store;
        RequireToken = requireToken;
    }

    /// <summary>A policy that lets everyone do everything (tests, embedded use).</summary>
    public static AccessPolicy Open { get; } = new(null, requireToken: false);

    public TokenStore? Store { get; }

    public bool RequireToken { get; }

    /// <summary>True when anonymous clients may read and write everything.</summary>
    public bool IsOpen => !RequireToken && (Store is null || Store.Tokens.Count == 0);

    /// <summary>For logs: ", token 'NAME'" when <paramref name="token"/> is a known token, else empty.</summary>
    public string LogSuffix(string? token)
    {
        try
        {
            return string.IsNullOrEmpty(token) || Store?.Find(token) is not { } entry ? string.Empty : $", token '{entry.Name}'";
        }
        catch (Exception e) when (e is InvalidDataException or IOException or UnauthorizedAccessException)
        {
            return string.Empty;
        }
    }

    /// <summary>Null when <paramref name="token"/> may do <paramref name="kind"/> on <paramref name="path"/>; otherwise why not (for the client).</summary>
    /// <param name="path">Root-relative path with '/' separators ("" for requests without a path, e.g. the relay).</param>
    public string? Check(string? token, AccessKind kind, string path, DateTimeOffset now)
    {
        if (string.IsNullOrEmpty(token))
        {
            return IsOpen ? null : "this server requires an access token: pass --token or set FERRY_TOKEN";
        }

        var entry = Store?.Find(token);
        if (entry is null)
        {
            return "the access token was not accepted (unknown or revoked)";
        }

        if (entry.Expires is { } expires && now >= expires)
        {
            return $"the access token '{entry.Name}' expired at {expires:yyyy-MM-dd HH:mm:ss}Z";
        }

        if (kind == AccessKind.Read && !entry.Read)
        {
            return $"the access token '{entry.Name}' may not read";
        }

        if (kind == AccessKind.Write && !entry.Write)
        {
            return $"the access token '{entry.Name}' may not write";
        }

        if (entry.PathPrefix is { } prefix)
        {
            // Compare normalized segments; a path with "." or ".." could name something outside the prefix.
            var segments = path.Replace('\\', '/').Split('/', StringSplitOptions.RemoveEmptyEntries);
            var p = string.Join('/', segments);
            if (segments.Any(s => s is "." or "..") || !(p == prefix || p.StartsWith(prefix + "/", StringComparison.Ordinal)))
            {
                return $"the access token '{entry.Name}' is limited to '{prefix}/'";
            }
        }

        return null;
    }
}
