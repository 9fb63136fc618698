namespace Ferry.Protocol.Tcp;

/// <summary>Frame types of the tcp:// protocol. Values are wire values.</summary>
public enum TcpFrameType : byte
{
    /// <summary>Control, client to server: open a GET or PUT session.</summary>
    Open = 0x01,

    /// <summary>Control, server to client: session accepted (id, block size, streams, present ranges).</summary>
    Accept = 0x02,

    /// <summary>Control, client to server (GET): ranges the client already has; the server starts sending.</summary>
    Have = 0x03,

    /// <summary>Control, sender to receiver: SHA-256 of the whole source file.</summary>
    Hash = 0x04,

    /// <summary>Control: the receiver committed the verified file (empty payload).</summary>
    Done = 0x05,

    /// <summary>Control, client to server (JOB_PUT, JOB_GET): entries of the job's manifest, after OPEN.</summary>
    Entries = 0x06,

    /// <summary>Control, server to client (jobs): one record per manifest entry, accepted or refused and why.</summary>
    Status = 0x07,

    /// <summary>Control, sender to receiver (jobs): SHA-256 of one accepted file, by index.</summary>
    FileHash = 0x08,

    /// <summary>Control, sender to receiver (jobs): the sender cannot read one file; its bytes are zeros, discard it.</summary>
    FileAbort = 0x09,

    /// <summary>Control, receiver to sender (jobs): the outcome of one accepted entry (committed, or why not).</summary>
    FileResult = 0x0A,

    /// <summary>Any connection, either direction: an error code and text; the sender closes afterwards.</summary>
    Error = 0x7F,

    /// <summary>Data, client to server: join session id as stream index.</summary>
    Join = 0x10,

    /// <summary>Data, server to client: the join was accepted.</summary>
    Joined = 0x11,

    /// <summary>Data, sender to receiver: file bytes at an offset.</summary>
    Data = 0x12,

    /// <summary>Data, receiver to sender: a range is written and need not be sent again.</summary>
    Ack = 0x13,
}
