using Ferry.Transfers;

namespace Ferry.Files;

/// <summary>
/// A new directory of this user's alone (mode 0700, a random name) under the temporary directory, deleted with
/// everything in it on <see cref="Dispose"/> (best effort: one left behind is the system's to clean). Where the
/// client keeps what it cannot stream: standard input before an upload, a download bound for standard output, a
/// listing being received.
/// </summary>
public sealed class PrivateTempDirectory : IDisposable
{
    private PrivateTempDirectory(string path)
    {
        Path = path;
    }

    public string Path { get; }

    /// <summary>
    /// Creates one named <paramref name="prefix"/> and random characters under <paramref name="tempRoot"/> (default: the
    /// system's, <c>$TMPDIR</c>). Throws <see cref="TransferException"/> (<see cref="ExitCode.LocalIo"/>) naming
    /// <paramref name="purpose"/> when it cannot.
    /// </summary>
    public static PrivateTempDirectory Create(string prefix, string? purpose = null, string? tempRoot = null)
    {
        string root = System.IO.Path.GetFullPath(tempRoot ?? System.IO.Path.GetTempPath());
        string dir = System.IO.Path.Combine(root, prefix + Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(6)));
        try
        {
            if (OperatingSystem.IsWindows())
            {
                Directory.CreateDirectory(dir);
            }
            else
            {
                Directory.CreateDirectory(dir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new TransferException(ExitCode.LocalIo,
                $"cannot create a temporary directory in {tempRoot ?? root}{(purpose is null ? string.Empty : $" for {purpose}")}: {e.Message}; set TMPDIR to a writable directory", e);
        }

        return new PrivateTempDirectory(dir);
    }

    /// <summary>A path inside the directory.</summary>
    public string Combine(string name) => System.IO.Path.Combine(Path, name);

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Best effort: a temporary directory left behind is the system's to clean.
        }
    }
}
