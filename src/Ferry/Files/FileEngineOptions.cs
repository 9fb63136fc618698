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

    /// <summary>
    /// Free space that must remain after an upload is accepted. Null (the default): 1% of the filesystem's size, at
    /// most <see cref="DefaultMaxMargin"/>, so a small disk still takes small files and a big one keeps 64 MiB.
    /// </summary>
    public long? FreeSpaceMargin { get; init; }

    /// <summary>The default margin's upper bound: 64 MiB.</summary>
    public const long DefaultMaxMargin = 64 << 20;

    /// <summary>The margin on a filesystem of <paramref name="totalBytes"/>.</summary>
    public long MarginFor(long totalBytes) => FreeSpaceMargin ?? Math.Min(DefaultMaxMargin, Math.Max(0, totalBytes) / 100);

    /// <summary>Silence of its client after which a running upload may be taken over by any new upload of its path (see <see cref="UploadRegistry"/>).</summary>
    public TimeSpan StaleUploadAfter { get; init; } = UploadRegistry.DefaultStaleAfter;

    /// <summary>Largest upload accepted (<see cref="FileErrorCode.TooLarge"/> beyond).</summary>
    public long MaxFileSize { get; init; } = 1L << 46;
}
