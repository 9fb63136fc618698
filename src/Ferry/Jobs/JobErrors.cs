using Ferry.Files;
using Ferry.Transfers;

namespace Ferry.Jobs;

/// <summary>Which failures end one entry of a job and which end the whole job.</summary>
public static class JobErrors
{
    /// <summary>
    /// True when the failure belongs to one file or directory (refused, missing, exists, unreadable here, digest
    /// mismatch): the others go on. False for what any other entry would meet too (no answer, wrong server key, a
    /// broken or refused session, a usage error): the job stops.
    /// </summary>
    public static bool IsPerEntry(TransferException e) => e.Failure is { } kind
        ? kind is FailureKind.InvalidPath or FailureKind.NotFound or FailureKind.NotRegularFile or FailureKind.AlreadyExists or FailureKind.Busy
            or FailureKind.NoSpace or FailureKind.Io or FailureKind.Integrity or FailureKind.Denied or FailureKind.TooLarge or FailureKind.Unauthorized
        : e.Code is ExitCode.LocalIo or ExitCode.Integrity; // a refusal without a kind is of the session (encryption, handshake), not of one file

    /// <summary>
    /// The catalog entry and words for an exception that ends one entry, or null when it ends the job
    /// (<see cref="OperationCanceledException"/> and anything unexpected included).
    /// </summary>
    public static (FailureKind Kind, string Message)? PerEntry(Exception e) => e switch
    {
        TransferException t when IsPerEntry(t) => (t.Failure ?? (t.Code == ExitCode.Integrity ? FailureKind.Integrity : FailureKind.Io), t.Message),
        FileEngineException f => (Failures.From(f.Code), f.Message),
        IOException or UnauthorizedAccessException => (FailureKind.Io, e.Message),
        _ => null,
    };
}
