namespace Ferry.Files;

/// <summary>Configuration of a <see cref="FileEngine"/> (one per server).</summary>
public sealed class FileEngineOptions
{
    /// <summary>Every served or accepted file lives under this directory; created if missing.</summary>
    public required string Root { get; init; }

    /// <summary>Upload journals; created if missing; outside the root by default.</summary>
    public required string StateDir { get; init; }

    /// <summary>When false an upload never replaces an existing file.</summary>
    public bool AllowOverwrite { get; init; }

    /// <summary>Free space that must remain after an upload is accepted.</summary>
    public long FreeSpaceMargin { get; init; } = 64 << 20;

    /// <summary>Silence of its client after which a running upload may be taken over by any new upload of its path (see <see cref="UploadRegistry"/>).</summary>
    public TimeSpan StaleUploadAfter { get; init; } = UploadRegistry.DefaultStaleAfter;

    /// <summary>Largest upload accepted (<see cref="FileErrorCode.TooLarge"/> beyond).</summary>
    public long MaxFileSize { get; init; } = 1L << 46;
}
