namespace Ferry.Protocol.Relay;

/// <summary>Outcome of opening a datagram's header and trailer.</summary>
public enum RelayDatagramStatus
{
    Ok = 0,
    /// <summary>Shorter than header plus CRC, or longer than the maximum datagram.</summary>
    BadLength,
    /// <summary>The version byte is not <see cref="RelayWire.Version"/>.</summary>
    BadVersion,
    /// <summary>The CRC32C trailer does not match: corrupted in transit.</summary>
    BadChecksum,
}
