namespace Ferry.Protocol.Tftp;

/// <summary>TFTP packet opcodes (RFC 1350; OACK from RFC 2347). Big-endian 16-bit on the wire.</summary>
public enum TftpOpcode : ushort
{
    /// <summary>Read request.</summary>
    Rrq = 1,

    /// <summary>Write request.</summary>
    Wrq = 2,

    /// <summary>A data block.</summary>
    Data = 3,

    /// <summary>Acknowledgement of a data block (or of an OACK, as block 0).</summary>
    Ack = 4,

    /// <summary>Error; ends the transfer.</summary>
    Error = 5,

    /// <summary>Option acknowledgement (RFC 2347).</summary>
    Oack = 6,
}
