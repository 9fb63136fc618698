using System.Security.Cryptography;
using System.Text;

namespace Ferry.Transfers;

/// <summary>
/// The client's upload keys: one random 16-byte id per upload (source file version and destination), kept in a small
/// file until the upload succeeds. The client sends it with its request; a server still holding an interrupted upload
/// started with the same key (the client was killed and the same command runs again) takes it over at once instead
/// of answering "busy". Knowing the key proves a re-run is the same upload: a different client never has it.
/// </summary>
/// <remarks>
/// Files live in <c>$XDG_STATE_HOME/ferry/uploads</c> (default <c>~/.local/state/ferry/uploads</c>), one per upload,
/// named by a hash of the absolute source path, its size and mtime, and the destination URL (without user info or
/// query). Keys of uploads that never finished are removed after <see cref="MaxAge"/>. Failing to read or write the
/// directory only loses the immediate takeover: the upload itself goes on.
/// </remarks>
public sealed class UploadKeys
{
    /// <summary>Keys untouched for this long are forgotten (their uploads were abandoned).</summary>
    public static readonly TimeSpan MaxAge = TimeSpan.FromDays(30);

    private readonly string _directory;

    public UploadKeys(string directory)
    {
        _directory = directory;
    }

    /// <summary>The user's key directory, or null when there is no home or state directory to keep it in.</summary>
    public static UploadKeys? Default
    {
        get
        {
            string? baseDir = Environment.GetEnvironmentVariable("XDG_STATE_HOME") is { Length: > 0 } xdg && Path.IsPathRooted(xdg)
                ? xdg
                : Environment.GetFolderPath(Environment.SpecialFolder.UserProfile) is { Length: > 0 } home && Path.IsPathRooted(home)
                    ? Path.Combine(home, ".local", "state")
                    : null;
            return baseDir is null ? null : new UploadKeys(Path.Combine(baseDir, "ferry", "uploads"));
        }
    }

    /// <summary>The key of uploading <paramref name="localPath"/> to <paramref name="remote"/>: the one kept from an earlier run, or a new one (kept).</summary>
    public byte[] GetOrCreate(string localPath, Uri remote)
    {
        string? file = KeyFile(localPath, remote);
        if (file is null)
        {
            return RandomNumberGenerator.GetBytes(Files.UploadRegistry.UploadKeyLength);
        }

        try
        {
            if (File.Exists(file))
            {
                byte[] kept = Convert.FromHexString(File.ReadAllText(file).Trim());
                if (kept.Length == Files.UploadRegistry.UploadKeyLength)
                {
                    File.SetLastWriteTimeUtc(file, DateTime.UtcNow);
                    return kept;
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException)
        {
            // Unreadable: a new key (the server then treats the re-run as another upload).
        }

        byte[] key = RandomNumberGenerator.GetBytes(Files.UploadRegistry.UploadKeyLength);
        try
        {
            Directory.CreateDirectory(_directory);
            ForgetOld();
            string temp = $"{file}.{Environment.ProcessId}.tmp";
            File.WriteAllText(temp, Convert.ToHexStringLower(key) + "\n");
            File.Move(temp, file, overwrite: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Not kept: this run works, only an interrupted one cannot be taken over at once.
        }

        return key;
    }

    /// <summary>The upload finished: its key is not needed any more.</summary>
    public void Forget(string localPath, Uri remote)
    {
        if (KeyFile(localPath, remote) is { } file)
        {
            try
            {
                File.Delete(file);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
            }
        }
    }

    private string? KeyFile(string localPath, Uri remote)
    {
        try
        {
            // A directory names a job of many files (its length counts as 0).
            FileSystemInfo info = Directory.Exists(localPath) ? new DirectoryInfo(localPath) : new FileInfo(localPath);
            if (!info.Exists)
            {
                return null;
            }

            long length = info is FileInfo f ? f.Length : 0;
            long mtimeMs = new DateTimeOffset(info.LastWriteTimeUtc).ToUnixTimeMilliseconds();
            // The path as the user wrote it: a RemoteUrl's Uri part is only scheme, host and port (its path is literal).
            string path = remote is RemoteUrl r ? r.Path : remote.AbsolutePath.TrimStart('/');
            string destination = remote.GetComponents(UriComponents.SchemeAndServer, UriFormat.UriEscaped) + "/" + path;
            string id = $"{info.FullName}\n{length}\n{mtimeMs}\n{destination}";
            return Path.Combine(_directory, Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(id)))[..32]);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException)
        {
            return null;
        }
    }

    private void ForgetOld()
    {
        var cutoff = DateTime.UtcNow - MaxAge;
        foreach (var f in Directory.EnumerateFiles(_directory))
        {
            try
            {
                if (File.GetLastWriteTimeUtc(f) < cutoff)
                {
                    File.Delete(f);
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
            }
        }
    }
}
