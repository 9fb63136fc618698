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
}
