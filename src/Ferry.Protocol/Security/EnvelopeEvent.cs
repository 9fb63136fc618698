namespace Ferry.Protocol.Security;

/// <summary>What handling one envelope datagram produced.</summary>
public enum EnvelopeEvent
{
    /// <summary>Not for us, forged, replayed or out of place: ignore it.</summary>
    Dropped,

    /// <summary>Client: the SERVER_HELLO verified; check the server key before sending anything.</summary>
    Established,

    /// <summary>The output holds a decrypted inner datagram.</summary>
    Opened,

    /// <summary>Server: the output holds a reply to send back (SERVER_HELLO or REFUSED).</summary>
    Reply,

    /// <summary>Client: the server refused (reason given).</summary>
    Refused,

    /// <summary>Client: the SERVER_HELLO did not verify.</summary>
    HandshakeFailed,
}
