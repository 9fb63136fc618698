using Ferry.Transfers;

namespace Ferry.Files;

/// <summary>How file-engine errors become CLI exit codes: through the one catalog, <see cref="Failures"/>.</summary>
public static class FileErrorCodeExtensions
{
    /// <summary>
    /// A code reported by the server (<paramref name="local"/> false) maps as its catalog entry does; a code raised on
    /// the client's own files (<paramref name="local"/> true) is a local I/O error (6) except Integrity (4).
    /// </summary>
    public static ExitCode ToExitCode(this FileErrorCode code, bool local) =>
        local ? Failures.ToLocalExitCode(code) : Failures.ToExitCode(Failures.From(code));

    /// <summary>Wraps a local file-engine failure for the CLI, keeping its user-facing message.</summary>
    public static TransferException ToTransferException(this FileEngineException ex, bool local) =>
        new(ex.Code.ToExitCode(local), ex.Message, ex);
}
