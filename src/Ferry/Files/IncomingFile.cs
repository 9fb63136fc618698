namespace Ferry.Files;

/// <summary>A server upload: a <see cref="PartialFile"/> plus the registry lease that keeps competing uploads out.</summary>
public sealed class IncomingFile : IDisposable
{
    private UploadRegistry.UploadLease? _lease;

    internal IncomingFile(string relativePath, string fullPath, PartialFile file, UploadRegistry.UploadLease lease)
    {
        RelativePath = relativePath;
        FullPath = fullPath;
        File = file;
        _lease = lease;
        TookOver = lease.TookOver;
    }

    /// <summary>The running upload of the same path this one replaced, and why; null when the path was free.</summary>
    public string? TookOver { get; }

    /// <summary>Lets a later upload of the same path stop this one (same upload key, or a silent client); see <see cref="UploadRegistry"/>.</summary>
    public void AllowTakeover(IUploadTakeover takeover) => _lease?.AllowTakeover(takeover);

    public string RelativePath { get; }

    /// <summary>The canonical final path on the server (for logs; never send it to a client).</summary>
    public string FullPath { get; }

    public PartialFile File { get; }

    /// <summary>Releases the registry lease; if not committed, keeps what was received (Abort(keepForResume: true)).</summary>
    public void Dispose()
    {
        try
        {
            File.Dispose();
        }
        finally
        {
            Interlocked.Exchange(ref _lease, null)?.Dispose();
        }
    }
}
