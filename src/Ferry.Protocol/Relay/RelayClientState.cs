namespace Ferry.Protocol.Relay;

/// <summary>Lifecycle of a relay client.</summary>
public enum RelayClientState
{
    /// <summary>Sending REGISTER (first time, or again after the server forgot the session).</summary>
    Registering,
    Ready,
    /// <summary>Closed by the application; BYE sent.</summary>
    Closed,
    /// <summary>Refused or timed out; see the last event.</summary>
    Failed,
}
