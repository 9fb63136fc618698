namespace Ferry.Files;

/// <summary>A server upload: a <see cref="PartialFile"/> plus the registry lease that keeps competing uploads out.</summary>
public sealed class IncomingFile : IDisposable
{
    private IDisposable? _lease;

    internal IncomingFile(string relativePath, string fullPath, PartialFile file, IDisposable lease)
    {
        RelativePath = relativePath;
        FullPath = fullPath;
        File = file;
        _lease = lease;
    }

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
