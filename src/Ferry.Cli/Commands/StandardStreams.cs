using Ferry.Files;
using Ferry.Transfers;

namespace Ferry.Cli.Commands;

/// <summary>
/// <c>ferry send - URL</c> (or a pipe, fifo or <c>&lt;(command)</c> as the source) and <c>ferry get URL -</c>.
/// Every scheme moves a file it can seek in and verify, so both go through a private temporary copy under
/// <c>$TMPDIR</c>: the input is read to its end before the upload starts, and the download is written to standard
/// output only once complete and its SHA-256 verified. Neither resumes; the copies are deleted afterwards.
/// </summary>
internal static class StandardStreams
{
    /// <summary>The name that means standard input (as a source) or standard output (as a destination).</summary>
    public const string Dash = "-";

    /// <summary>Copies <paramref name="source"/> to a temporary file, runs <paramref name="send"/> on it, deletes it.</summary>
    public static async Task<TransferResult> SendCopyAsync(string source, Func<string, Task<TransferResult>> send, CancellationToken cancellationToken)
    {
        using var spool = await InputSpool.CopyAsync(source, cancellationToken).ConfigureAwait(false);
        return await send(spool.Path).ConfigureAwait(false);
    }

    /// <summary>
    /// Runs <paramref name="get"/> into a temporary file, then copies the verified file to standard output and
    /// deletes it. Nothing reaches standard output unless the whole file arrived and matched its SHA-256.
    /// </summary>
    public static async Task<TransferResult> GetToStandardOutputAsync(Func<string, Task<TransferResult>> get, CancellationToken cancellationToken)
    {
        using var dir = PrivateTempDirectory.Create("ferry-output-");
        string file = dir.Combine("download");
        TransferResult result;
        try
        {
            result = await get(file).ConfigureAwait(false);
        }
        catch (TransferException e) when (e.Code == ExitCode.LocalIo)
        {
            throw new TransferException(e.Code, $"{e.Message} (a download to standard output is first stored in {Path.GetTempPath()}; set TMPDIR to a directory with more room)", e);
        }

        await using var copy = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 0);
        try
        {
            await using var stdout = OpenStandardOutput();
            await copy.CopyToAsync(stdout, 1 << 20, cancellationToken).ConfigureAwait(false);
            await stdout.FlushAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (IOException e)
        {
            throw new TransferException(ExitCode.LocalIo, $"cannot write to standard output: {e.Message}", e);
        }

        return result;
    }

    /// <summary>
    /// Standard output as a stream that reports a reader that went away: the console stream ignores EPIPE, so
    /// "ferry get URL - | head -c 10" would claim success for bytes nobody read. A file the shell redirected to
    /// keeps the console stream, whose write(2) moves the shared offset (a positional write would not).
    /// </summary>
    private static Stream OpenStandardOutput()
    {
        var pipe = new FileStream(new Microsoft.Win32.SafeHandles.SafeFileHandle(1, ownsHandle: false), FileAccess.Write, bufferSize: 0);
        if (!pipe.CanSeek)
        {
            return pipe;
        }

        pipe.Dispose();
        return Console.OpenStandardOutput();
    }
}
