namespace Ferry.Hosting;

/// <summary>Another <c>ferry serve</c> holds the state directory's lock (see <see cref="StateDirLock"/>).</summary>
public sealed class StateDirInUseException : Exception
{
    public StateDirInUseException(string stateDir, string? owner)
        : base($"state directory {stateDir} is in use by another ferry serve{(owner is null ? string.Empty : $" ({owner})")}; "
            + "two servers must not share one (their resume journals, tokens and relay history would collide): stop the other server, or give this one its own --state-dir")
    {
        StateDir = stateDir;
    }

    public string StateDir { get; }
}
