using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace Ferry.Security;

/// <summary>
/// The server's access tokens, in <c>tokens.json</c> under the state directory. <c>ferry token create</c> writes it
/// (atomically: temp file and rename) while a server may be running; the server re-reads it when it changes, so a
/// new or revoked token takes effect without a restart. Tokens are <c>ferry_</c> and 32 base64url characters of
/// randomness; only their SHA-256 is stored.
/// </summary>
public sealed class TokenStore
{
    public const string FileName = "tokens.json";
    public const string TokenPrefix = "ferry_";

    private readonly object _lock = new();
    private IReadOnlyList<AccessToken> _tokens = Array.Empty<AccessToken>();
    private DateTime _loadedWrite = DateTime.MinValue;
    private long _loadedLength = -1;

    public TokenStore(string stateDir)
    {
        Path = System.IO.Path.Combine(stateDir, FileName);
    }

    public string Path { get; }

    /// <summary>The current tokens (re-read when the file changed).</summary>
    public IReadOnlyList<AccessToken> Tokens
    {
        get
        {
            lock (_lock)
            {
                RefreshLocked();
                return _tokens;
            }
        }
    }

    /// <summary>Creates a token, stores its hash and returns the token (shown to the user once).</summary>
    public string Create(string name, bool read, bool write, string? pathPrefix, DateTimeOffset now, TimeSpan? lifetime)
    {
        if (string.IsNullOrWhiteSpace(name) || name.Length > 64 || name.Any(c => char.IsControl(c) || char.IsWhiteSpace(c)))
        {
            throw new ArgumentException("a token name is 1 to 64 characters without spaces or control characters");
        }

        if (!read && !write)
        {
            throw new ArgumentException("a token needs --read, --write or both");
        }

        lock (_lock)
        {
            RefreshLocked();
            if (_tokens.Any(t => t.Name == name))
            {
                throw new ArgumentException($"a token named '{name}' exists; revoke it first or pick another name");
            }

            Span<byte> random = stackalloc byte[24];
            RandomNumberGenerator.Fill(random);
            string token = TokenPrefix + Convert.ToBase64String(random).Replace('+', '-').Replace('/', '_');
            var entry = new AccessToken
            {
                Name = name,
                Hash = HashOf(token),
                Read = read,
                Write = write,
                PathPrefix = NormalizePrefix(pathPrefix),
                Created = now,
                Expires = lifetime is { } l ? now + l : null,
            };
            Save(_tokens.Append(entry).ToList());
            return token;
        }
    }

    /// <summary>Removes a token by name; false when there is none.</summary>
    public bool Revoke(string name)
    {
        lock (_lock)
        {
            RefreshLocked();
            var rest = _tokens.Where(t => t.Name != name).ToList();
            if (rest.Count == _tokens.Count)
            {
                return false;
            }

            Save(rest);
            return true;
        }
    }

    /// <summary>The stored token whose hash matches <paramref name="token"/>, or null.</summary>
    public AccessToken? Find(string token)
    {
        var hash = Encoding.ASCII.GetBytes(HashOf(token));
        AccessToken? found = null;
        foreach (var t in Tokens)
        {
            // Compare every entry in fixed time: the timing says nothing about which (if any) matched.
            if (CryptographicOperations.FixedTimeEquals(hash, Encoding.ASCII.GetBytes(t.Hash)))
            {
                found = t;
            }
        }

        return found;
    }

    public static string HashOf(string token) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(token)));

    /// <summary>"dir/sub/" and "/dir/sub" both become "dir/sub"; null or "/" means the whole root.</summary>
    public static string? NormalizePrefix(string? prefix)
    {
        if (prefix is null)
        {
            return null;
        }

        var p = prefix.Replace('\\', '/').Trim('/');
        if (p.Split('/').Any(s => s is ".." or "."))
        {
            throw new ArgumentException("--path must not contain '.' or '..' segments");
        }

        return p.Length == 0 ? null : p;
    }

    private void RefreshLocked()
    {
        var info = new FileInfo(Path);
        if (!info.Exists)
        {
            _tokens = Array.Empty<AccessToken>();
            _loadedLength = -1;
            return;
        }

        if (info.LastWriteTimeUtc == _loadedWrite && info.Length == _loadedLength)
        {
            return;
        }

        _tokens = Parse(File.ReadAllBytes(Path));
        _loadedWrite = info.LastWriteTimeUtc;
        _loadedLength = info.Length;
    }

    private IReadOnlyList<AccessToken> Parse(byte[] json)
    {
        try
        {
            using var doc = JsonDocument.Parse(json);
            var list = new List<AccessToken>();
            foreach (var e in doc.RootElement.GetProperty("tokens").EnumerateArray())
            {
                list.Add(new AccessToken
                {
                    Name = e.GetProperty("name").GetString()!,
                    Hash = e.GetProperty("sha256").GetString()!,
                    Read = e.GetProperty("read").GetBoolean(),
                    Write = e.GetProperty("write").GetBoolean(),
                    PathPrefix = e.TryGetProperty("path", out var p) && p.ValueKind == JsonValueKind.String ? p.GetString() : null,
                    Created = e.GetProperty("created").GetDateTimeOffset(),
                    Expires = e.TryGetProperty("expires", out var x) && x.ValueKind == JsonValueKind.String ? x.GetDateTimeOffset() : null,
                });
            }

            return list;
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
        {
            throw new InvalidDataException($"{Path} is damaged ({e.Message}); fix or remove it", e);
        }
    }

    private void Save(List<AccessToken> tokens)
    {
        string dir = System.IO.Path.GetDirectoryName(Path)!;
        Directory.CreateDirectory(dir);
        string temp = Path + $".{Environment.ProcessId}.tmp";
        var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        using (var stream = new FileStream(temp, options))
        {
            using (var w = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true }))
            {
                w.WriteStartObject();
                w.WriteStartArray("tokens");
                foreach (var t in tokens)
                {
                    w.WriteStartObject();
                    w.WriteString("name", t.Name);
                    w.WriteString("sha256", t.Hash);
                    w.WriteBoolean("read", t.Read);
                    w.WriteBoolean("write", t.Write);
                    if (t.PathPrefix is not null)
                    {
                        w.WriteString("path", t.PathPrefix);
                    }

                    w.WriteString("created", t.Created);
                    if (t.Expires is { } x)
                    {
                        w.WriteString("expires", x);
                    }

                    w.WriteEndObject();
                }

                w.WriteEndArray();
                w.WriteEndObject();
            }

            stream.Flush(flushToDisk: true);
        }

        File.Move(temp, Path, overwrite: true);
        _tokens = tokens;
        var info = new FileInfo(Path);
        _loadedWrite = info.LastWriteTimeUtc;
        _loadedLength = info.Length;
    }
}
