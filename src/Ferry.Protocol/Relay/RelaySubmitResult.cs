namespace Ferry.Protocol.Relay;

/// <summary>Outcome of <see cref="RelayClient.Submit"/>.</summary>
public enum RelaySubmitResult
{
    Ok,
    /// <summary>Longer than <see cref="RelayWire.MaxTextBytes"/> UTF-8 bytes; nothing was queued.</summary>
    TooLong,
    /// <summary>Too many lines are waiting for acknowledgement; retry after some are acknowledged.</summary>
    QueueFull,
    /// <summary>The client did not register as a writer.</summary>
    NotWriter,
    /// <summary>The client is closed or failed.</summary>
    Closed,
}
