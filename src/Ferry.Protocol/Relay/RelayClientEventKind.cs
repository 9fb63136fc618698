namespace Ferry.Protocol.Relay;

/// <summary>What happened to a relay client.</summary>
public enum RelayClientEventKind
{
    /// <summary>First registration accepted.</summary>
    Registered,
    /// <summary>Registered again after the server lost the session (restart or expiry); pending lines are resent.</summary>
    Reregistered,
    /// <summary>The server refused the registration; the client failed.</summary>
    Refused,
    /// <summary>The server stopped answering; the client failed.</summary>
    TimedOut,
    /// <summary>Sequences [From, To) were removed by retention before this reader got them.</summary>
    HistoryPruned,
}
