namespace Ferry.Protocol.Tcp;

/// <summary>Outcome of parsing a preamble, header or payload. Anything but <see cref="Ok"/> is a protocol violation.</summary>
public enum TcpDecodeStatus
{
    Ok = 0,

    /// <summary>The preamble's magic is not "FRYT": not a Ferry client.</summary>
    BadMagic,

    /// <summary>The preamble names another protocol version.</summary>
    UnsupportedVersion,

    /// <summary>The preamble's connection kind or reserved bytes are invalid.</summary>
    BadPreamble,

    /// <summary>The frame type is unknown or not allowed here.</summary>
    UnexpectedType,

    /// <summary>The declared payload length is out of bounds for the frame type.</summary>
    BadLength,

    /// <summary>The payload's fields are inconsistent (bad path length, unsorted ranges, ...).</summary>
    Malformed,
}
