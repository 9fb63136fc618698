namespace Ferry.Protocol.Tcp;

/// <summary>What an ACK meant to the <see cref="BlockScheduler"/>.</summary>
public enum TcpAckOutcome
{
    /// <summary>The item was in flight on that stream and is now done.</summary>
    Completed,

    /// <summary>No item with that offset and length is in flight on that stream: a protocol violation.</summary>
    Unexpected,
}
