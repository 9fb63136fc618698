using Ferry.Files;

namespace Ferry.Transfers;

/// <summary>
/// The catalog's one mapping to exit codes and its one wording per entry, used by every scheme's client, so the same
/// failure reads and exits the same over udp://, tcp://, zmq:// and tftp://.
/// </summary>
public static class Failures
{
    /// <summary>What to do after a transient failure of a scheme that resumes.</summary>
    public const string ResumeHint = "partial data is kept, run the same command again to resume";

    /// <summary>What to do after a transient failure of a scheme that cannot resume.</summary>
    public const string RestartHint = "run the same command again to start over";

    /// <summary>The catalog entry of a file engine error (the same number).</summary>
    public static FailureKind From(FileErrorCode code) => (FailureKind)(ushort)code;

    /// <summary>
    /// The exit code for a failure the server reported or caused: a refusal or a failure on the server is 3 (it needs
    /// someone to act: another path, a token, space or a repair on the server), a transient one is 5 (the same
    /// command may succeed later), a digest mismatch is 4, a broken protocol is 1.
    /// </summary>
    public static ExitCode ToExitCode(FailureKind kind) => kind switch
    {
        FailureKind.Integrity => ExitCode.Integrity,
        FailureKind.ServerShutdown or FailureKind.IdleTimeout => ExitCode.Timeout,
        FailureKind.HandshakeFailed or FailureKind.ProtocolViolation or FailureKind.Cancelled or FailureKind.Internal => ExitCode.Failure,
        _ => ExitCode.Refused,
    };

    /// <summary>The exit code for a file engine error on the client's own files: 4 for a digest mismatch, else 6.</summary>
    public static ExitCode ToLocalExitCode(FileErrorCode code) =>
        code == FileErrorCode.Integrity ? ExitCode.Integrity : ExitCode.LocalIo;

    /// <summary>Whether running the same command again may succeed without anyone changing anything.</summary>
    public static bool IsTransient(FailureKind kind) => ToExitCode(kind) == ExitCode.Timeout;

    /// <summary>The words for an entry when the peer sent none of its own (and what servers send for the non-file entries).</summary>
    public static string Describe(FailureKind kind) => kind switch
    {
        FailureKind.InvalidPath => "invalid path",
        FailureKind.NotFound => "not found",
        FailureKind.NotRegularFile => "not a regular file",
        FailureKind.AlreadyExists => "already exists on the server (it runs without --allow-overwrite)",
        FailureKind.Busy => "being uploaded by someone else; try again later",
        FailureKind.NoSpace => "not enough space on the server",
        FailureKind.Io => "I/O error on the server",
        FailureKind.Integrity => "SHA-256 mismatch",
        FailureKind.Denied => "permission denied",
        FailureKind.TooLarge => "file too large for the server",
        FailureKind.ServerShutdown => "server is shutting down",
        FailureKind.ServerBusy => "server is busy; try again later",
        FailureKind.Unauthorized => "access token missing, unknown, expired or not allowing this",
        FailureKind.EncryptionRequired => "the server requires encryption (drop --insecure)",
        FailureKind.EncryptionUnavailable => "the server has no key and serves cleartext only (add --insecure)",
        FailureKind.HandshakeFailed => "secure handshake failed",
        FailureKind.ProtocolViolation => "protocol violation",
        FailureKind.IdleTimeout => "no progress for too long",
        FailureKind.Cancelled => "cancelled",
        _ => "internal error",
    };

    /// <summary>
    /// The client's error for a failure the server reported: "server: MESSAGE (Kind)" ("server is ..." as it is), then for a transient entry what to
    /// do next (<paramref name="resumable"/>: whether this scheme resumes).
    /// </summary>
    public static TransferException FromServer(FailureKind kind, string? message, bool resumable = true)
    {
        string text = string.IsNullOrWhiteSpace(message) ? Describe(kind) : message;
        string hint = resumable ? ResumeHint : RestartHint;
        int cut = text.IndexOf("; run the same command", StringComparison.Ordinal);
        if (cut >= 0)
        {
            text = text[..cut]; // an older server's own hint: the client's is the one that knows about resume
        }

        if (!text.StartsWith("server ", StringComparison.Ordinal))
        {
            text = "server: " + text;
        }

        return new TransferException(ToExitCode(kind), IsTransient(kind) ? $"{text} ({kind}); {hint}" : $"{text} ({kind})") { Failure = kind };
    }

    /// <summary>What a local destination that exists while --overwrite was not given says (every scheme's <c>get</c>).</summary>
    public static string LocalExistsMessage(string localPath) => $"'{localPath}' already exists; add --overwrite to replace it";

    /// <summary>A peer that was answering and then went silent: exit 5, and what to do next.</summary>
    public static TransferException Silent(string peer, TimeSpan silence, bool resumable = true) =>
        new(ExitCode.Timeout, $"no data from {peer} for {silence.TotalSeconds:0.#} s; {(resumable ? ResumeHint : RestartHint)}");

    /// <summary>A server older than MKDIR (it refused the operation as unknown): exit 1, and what to do.</summary>
    public static TransferException MakeDirectoryUnsupported(Exception? inner = null) =>
        new(ExitCode.Failure, "the server does not support creating directories (upgrade it)" + (inner is null ? string.Empty : $": {inner.Message}"), inner);

    /// <summary>A server that never answered the handshake: exit 5, naming host:port.</summary>
    public static TransferException NoAnswer(string hostPort, TimeSpan waited) =>
        new(ExitCode.Timeout, $"no answer from {hostPort} within {waited.TotalSeconds:0.#} s: nothing is answering there (is 'ferry serve' running on that port?)");
}
