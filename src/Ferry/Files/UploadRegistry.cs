using System.Security.Cryptography;

namespace Ferry.Files;

/// <summary>
/// Which paths are being uploaded right now, shared by every protocol of one server so that two uploads of
/// the same file (from any protocol) can never interleave. Thread-safe.
/// </summary>
/// <remarks>
/// One rule decides when a new upload may take the place of a running one, for every protocol: the running upload
/// must have said how it is stopped (<see cref="UploadLease.AllowTakeover"/>), and either the newcomer proves it is
/// the same upload (it brings the same <see cref="UploadKeyLength"/>-byte upload key, which only the client that
/// started it knows: a client killed mid-upload and run again resumes at once), or the running upload has not heard
/// from its client for <see cref="StaleAfter"/>. Otherwise the newcomer is refused (Busy).
/// </remarks>
public sealed class UploadRegistry
{
    /// <summary>Length of an upload key, the random id a client keeps beside its source to prove a re-run is its own upload.</summary>
    public const int UploadKeyLength = 16;

    /// <summary>Default <see cref="StaleAfter"/>.</summary>
    public static readonly TimeSpan DefaultStaleAfter = TimeSpan.FromSeconds(3);

    private readonly Dictionary<string, Entry> _owners = new(StringComparer.Ordinal);

    /// <summary>Silence after which any new upload of the same path may take a running one over.</summary>
    public TimeSpan StaleAfter { get; init; } = DefaultStaleAfter;

    /// <summary>How long a takeover waits for the stopped upload to release the path before giving up (Busy).</summary>
    public TimeSpan StopWait { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Takes <paramref name="fullPath"/> for <paramref name="owner"/>; the lease releases it when disposed. Never takes a running upload over.</summary>
    public bool TryAcquire(string fullPath, string owner, out IDisposable? lease, out string? currentOwner)
    {
        ArgumentNullException.ThrowIfNull(fullPath);
        ArgumentNullException.ThrowIfNull(owner);
        lock (_owners)
        {
            if (_owners.TryGetValue(fullPath, out var existing))
            {
                lease = null;
                currentOwner = existing.Owner;
                return false;
            }

            var entry = new Entry(owner, null);
            _owners.Add(fullPath, entry);
            lease = new UploadLease(this, fullPath, entry, null);
            currentOwner = null;
            return true;
        }
    }

    /// <summary>
    /// Takes <paramref name="fullPath"/> for <paramref name="owner"/>, taking a running upload of it over when the
    /// registry's rule allows (see the remarks on <see cref="UploadRegistry"/>). <paramref name="uploadKey"/> is the
    /// client's upload key (null or empty: none). On refusal <paramref name="currentOwner"/> names the running upload.
    /// </summary>
    public bool TryAcquire(string fullPath, string owner, ReadOnlySpan<byte> uploadKey, out UploadLease? lease, out string? currentOwner)
    {
        ArgumentNullException.ThrowIfNull(fullPath);
        ArgumentNullException.ThrowIfNull(owner);
        byte[]? key = uploadKey.Length == UploadKeyLength ? uploadKey.ToArray() : null;
        string? tookOver = null;
        for (int attempt = 0; ; attempt++)
        {
            Entry existing;
            string reason;
            lock (_owners)
            {
                if (!_owners.TryGetValue(fullPath, out existing!))
                {
                    var entry = new Entry(owner, key);
                    _owners.Add(fullPath, entry);
                    lease = new UploadLease(this, fullPath, entry, tookOver);
                    currentOwner = null;
                    return true;
                }

                string? why = attempt == 0 ? TakeoverReason(existing, key) : null;
                if (why is null)
                {
                    lease = null;
                    currentOwner = existing.Owner;
                    return false;
                }

                reason = why;
            }

            // Outside the lock: stopping releases the lease, which takes the lock (maybe from another thread).
            if (!existing.Takeover!.TryStop($"another upload of this path took over ({reason})") || !existing.Released.Wait(StopWait))
            {
                lease = null;
                currentOwner = existing.Owner;
                return false;
            }

            tookOver = $"{existing.Owner} ({reason})";
        }
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

    private string? TakeoverReason(Entry existing, byte[]? key)
    {
        if (existing.Takeover is not { } takeover)
        {
            return null;
        }

        if (key is not null && existing.Key is not null && CryptographicOperations.FixedTimeEquals(key, existing.Key))
        {
            return "same upload key";
        }

        var silence = takeover.Silence;
        return silence >= StaleAfter ? $"its client was silent for {silence.TotalSeconds:F1} s" : null;
    }

    private void Release(string fullPath, Entry entry)
    {
        lock (_owners)
        {
            if (_owners.TryGetValue(fullPath, out var current) && current == entry)
            {
                _owners.Remove(fullPath);
            }
        }

        entry.Released.Set();
    }

    internal sealed class Entry(string owner, byte[]? key)
    {
        private volatile IUploadTakeover? _takeover;

        public string Owner { get; } = owner;

        public byte[]? Key { get; } = key;

        public IUploadTakeover? Takeover
        {
            get => _takeover;
            set => _takeover = value;
        }

        public ManualResetEventSlim Released { get; } = new();
    }

    /// <summary>A path held for one upload; disposing it releases the path.</summary>
    public sealed class UploadLease : IDisposable
    {
        private UploadRegistry? _registry;
        private readonly string _path;
        private readonly Entry _entry;

        internal UploadLease(UploadRegistry registry, string path, Entry entry, string? tookOver)
        {
            _registry = registry;
            _path = path;
            _entry = entry;
            TookOver = tookOver;
        }

        /// <summary>The upload this one replaced, and why ("udp 127.0.0.1:5555 (same upload key)"); null when the path was free.</summary>
        public string? TookOver { get; }

        /// <summary>Lets a later upload of the same path stop this one, by the registry's rule.</summary>
        public void AllowTakeover(IUploadTakeover takeover)
        {
            ArgumentNullException.ThrowIfNull(takeover);
            _entry.Takeover = takeover;
        }

        public void Dispose()
        {
            // Exactly once, even if disposed from two threads: a second release could free someone else's lease.
            Interlocked.Exchange(ref _registry, null)?.Release(_path, _entry);
        }
    }
}
