namespace Ferry.Transfers;

/// <summary>A transfer failed for a reason the user must see; <see cref="Code"/> becomes the exit code.</summary>
public sealed class TransferException : Exception
{
    public TransferException(ExitCode code, string message, Exception? inner = null)
        : base(message, inner)
    {
        Code = code;
    }

    public ExitCode Code { get; }

    /// <summary>The catalog entry when the server reported the failure (<see cref="Failures.FromServer"/>); null otherwise.</summary>
    public FailureKind? Failure { get; init; }

    /// <summary>
    /// True when a job carrier found that the server cannot take a whole job in one session (it is older than that):
    /// nothing was moved, and the job may run one transfer per file instead.
    /// </summary>
    public bool CarrierUnsupported { get; init; }
}
