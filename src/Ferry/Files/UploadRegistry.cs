namespace Ferry.Files;

/// <summary>
/// Which paths are being uploaded right now, shared by every protocol of one server so that two uploads of
/// the same file (from any protocol) can never interleave. Thread-safe.
/// </summary>
public sealed class UploadRegistry
{
    private readonly Dictionary<string, string> _owners = new(StringComparer.Ordinal);

    /// <summary>Takes <paramref name="fullPath"/> for <paramref name="owner"/>; the lease releases it when disposed.</summary>
    public bool TryAcquire(string fullPath, string owner, out IDisposable? lease, out string? currentOwner)
    {
        ArgumentNullException.ThrowIfNull(fullPath);
        ArgumentNullException.ThrowIfNull(owner);
        lock (_owners)
        {
            if (_owners.TryGetValue(fullPath, out var existing))
            {
                lease = null;
                currentOwner = existing;
                return false;
            }

            _owners.Add(fullPath, owner);
        }

        lease = new Lease(this, fullPath);
        currentOwner = null;
        return true;
    }

    public bool IsBusy(string fullPath)
    {
        lock (_owners)
        {
            return _owners.ContainsKey(fullPath);
        }
    }

    /// <summary>Number of paths currently held.</summary>
    public int Count
    {
        get
        {
            lock (_owners)
            {
                return _owners.Count;
            }
        }
    }

    private void Release(string fullPath)
    {
        lock (_owners)
        {
            _owners.Remove(fullPath);
        }
    }

    private sealed class Lease : IDisposable
    {
        private UploadRegistry? _registry;
        private readonly string _path;

        public Lease(UploadRegistry registry, string path)
        {
            _registry = registry;
            _path = path;
        }

        public void Dispose()
        {
            // Exactly once, even if disposed from two threads: a second release could free someone else's lease.
            Interlocked.Exchange(ref _registry, null)?.Release(_path);
        }
    }
}
