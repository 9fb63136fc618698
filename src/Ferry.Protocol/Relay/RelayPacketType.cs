namespace Ferry.Protocol.Relay;

/// <summary>The type byte of a relay datagram (docs/PROTOCOL.md, "Message relay").</summary>
public enum RelayPacketType : byte
{
    /// <summary>Client to server: join with a name and a role; session id 0.</summary>
    Register = 1,
    /// <summary>Server to client: accepted; the header carries the new session id.</summary>
    Registered = 2,
    /// <summary>Server to client: registration refused with a reason.</summary>
    Refused = 3,
    /// <summary>Writer to server: one or more lines with consecutive writer sequence numbers.</summary>
    Post = 4,
    /// <summary>Server to writer: every writer sequence below a value is durably stored.</summary>
    PostAck = 5,
    /// <summary>Server to reader: consecutive messages (or a pruned range) starting at a sequence number.</summary>
    Deliver = 6,
    /// <summary>Reader to server: cumulative and selective acknowledgement plus receive window.</summary>
    Ack = 7,
    /// <summary>Client to server: keepalive.</summary>
    Ping = 8,
    /// <summary>Server to client: keepalive answer carrying the last stored sequence.</summary>
    Pong = 9,
    /// <summary>Client to server: the session ends; the name is free again.</summary>
    Bye = 10,
    /// <summary>Server to client: the session id is not known (server restarted or session expired); register again.</summary>
    UnknownSession = 11,
}
