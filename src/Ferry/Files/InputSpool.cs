using Ferry.Transfers;

namespace Ferry.Files;

/// <summary>
/// A copy of a stream that cannot be sent as it is (standard input, a pipe, a fifo, a character device) in a
/// private temporary directory under <c>$TMPDIR</c>: every scheme sends a file it can seek in, hash first and
/// resend from, so <c>ferry send -</c> reads its whole input first and then sends this file. Nothing resumes
/// (the copy is deleted on <see cref="Dispose"/>, and a new run reads a new input). Free space is checked while
/// copying, so a large input stops with a clear error instead of filling the disk.
/// </summary>
public sealed class InputSpool : IDisposable
{
    /// <summary>Free space the copy leaves on the temporary directory's filesystem.</summary>
    public const long FreeSpaceMargin = 16L << 20;

    // Also the most copied between two free-space checks (one statvfs per read, cheap beside a MiB of I/O).
    private const int BufferSize = 1 << 20;

    private readonly PrivateTempDirectory _directory;

    private InputSpool(PrivateTempDirectory directory, string path, long length)
    {
        _directory = directory;
        Path = path;
        Length = length;
    }

    /// <summary>The private directory (mode 0700) holding the copy.</summary>
    public string Directory => _directory.Path;

    /// <summary>The copy, a regular file.</summary>
    public string Path { get; }

    public long Length { get; }

    /// <summary>
    /// True when <paramref name="source"/> is <c>-</c> (standard input) or names something that exists and is
    /// neither a regular file nor a directory once links are followed: a fifo, <c>/dev/stdin</c> on a pipe,
    /// <c>&lt;(command)</c>, a character device.
    /// </summary>
    public static bool IsStream(string source)
    {
        if (source == "-")
        {
            return true;
        }

        // stat, not realpath: /dev/stdin and <(command) are links to "pipe:[N]", which has no path.
        return NativeFile.TryStatPath(source, out var stat, out _, followSymlinks: true) && !stat.IsRegular && !stat.IsDirectory;
    }

    /// <summary>
    /// Copies <paramref name="source"/> (<c>-</c>: standard input) to a new temporary file and returns it.
    /// Throws <see cref="TransferException"/> with <see cref="ExitCode.LocalIo"/> when the input cannot be read
    /// or does not fit.
    /// </summary>
    public static async Task<InputSpool> CopyAsync(string source, CancellationToken cancellationToken)
    {
        string what = source == "-" ? "standard input" : $"'{source}'";
        Stream input;
        try
        {
            input = source == "-"
                ? Console.OpenStandardInput(BufferSize)
                : new FileStream(source, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, bufferSize: 0);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new TransferException(ExitCode.LocalIo, $"cannot read {what}: {e.Message}", e);
        }

        await using (input.ConfigureAwait(false))
        {
            return await CopyAsync(input, what, System.IO.Path.GetTempPath(), cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Copies <paramref name="input"/> into a new private directory under <paramref name="tempRoot"/>.</summary>
    public static async Task<InputSpool> CopyAsync(Stream input, string what, string tempRoot, CancellationToken cancellationToken)
    {
        var dir = PrivateTempDirectory.Create("ferry-input-", what, tempRoot);
        string path = dir.Combine("input");
        long length = 0;
        try
        {
            var options = new FileStreamOptions
            {
                Mode = FileMode.CreateNew,
                Access = FileAccess.Write,
                Share = FileShare.None,
                BufferSize = 0,
            };
            var buffer = new byte[BufferSize];
            await using (var output = new FileStream(path, options))
            {
                while (true)
                {
                    int n;
                    try
                    {
                        // A read from a pipe ignores the token once it blocks: stop waiting for it instead, so
                        // Ctrl+C ends a copy whose writer is still silent (the abandoned read ends with the process).
                        n = await input.ReadAsync(buffer, CancellationToken.None).AsTask().WaitAsync(cancellationToken).ConfigureAwait(false);
                    }
                    catch (Exception e) when (e is IOException or UnauthorizedAccessException or NotSupportedException)
                    {
                        throw new TransferException(ExitCode.LocalIo, $"cannot read {what}: {e.Message}", e);
                    }

                    if (n == 0)
                    {
                        break;
                    }

                    long free = FileEngine.FreeSpace(dir.Path).Free;
                    if (free - n < FreeSpaceMargin)
                    {
                        throw NoRoom(what, dir.Path, length, free);
                    }

                    try
                    {
                        await output.WriteAsync(buffer.AsMemory(0, n), cancellationToken).ConfigureAwait(false);
                    }
                    catch (IOException e) when (NativeFile.IsNoSpace(NativeFile.ErrnoOf(e)))
                    {
                        throw NoRoom(what, dir.Path, length, 0);
                    }

                    length += n;
                }
            }
        }
        catch
        {
            dir.Dispose();
            throw;
        }

        return new InputSpool(dir, path, length);
    }

    /// <summary>Deletes the copy and its directory (best effort).</summary>
    public void Dispose() => _directory.Dispose();

    private static TransferException NoRoom(string what, string dir, long copied, long free) => new(
        ExitCode.LocalIo,
        $"{what} does not fit in {System.IO.Path.GetDirectoryName(dir)}: ferry copies it there before sending, and after {copied} bytes only {free} bytes " +
        $"are free (it keeps {FreeSpaceMargin >> 20} MiB free); set TMPDIR to a directory with more room, or send a file");
}
