namespace Ferry.Security;

/// <summary>One access token as the server stores it: never the token itself, only its SHA-256.</summary>
public sealed record AccessToken
{
    public required string Name { get; init; }

    /// <summary>Lower-case hex SHA-256 of the token string.</summary>
    public required string Hash { get; init; }

    public bool Read { get; init; }

    public bool Write { get; init; }

    /// <summary>Paths the token may touch: this path and everything under it ("" or null: the whole root).</summary>
    public string? PathPrefix { get; init; }

    public DateTimeOffset Created { get; init; }

    public DateTimeOffset? Expires { get; init; }

    /// <summary>"read", "write" or "read,write", for listings.</summary>
    public string Permissions => (Read, Write) switch
    {
        (true, true) => "read,write",
        (true, false) => "read",
        (false, true) => "write",
        _ => "none",
    };
}
