namespace Ferry.Protocol.Relay;

/// <summary>What the store did with one <see cref="RelayAppend"/>: stored it as <paramref name="Message"/>,
/// or found it already stored (a retry across a server restart) and left <paramref name="Message"/> null.</summary>
public readonly record struct RelayAppendResult(RelayAppend Append, RelayMessage? Message);
