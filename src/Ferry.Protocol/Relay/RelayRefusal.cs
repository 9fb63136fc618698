namespace Ferry.Protocol.Relay;

/// <summary>Why a server refused a registration (the REFUSED reason byte).</summary>
public enum RelayRefusal : byte
{
    /// <summary>Another live session holds this user name.</summary>
    NameInUse = 1,
    /// <summary>The name is empty, too long, not UTF-8 or contains control or space characters.</summary>
    InvalidName = 2,
    /// <summary>A field the server does not support (e.g. a room in protocol version 1) or an impossible value.</summary>
    Unsupported = 3,
    /// <summary>The server has reached its session limit.</summary>
    ServerFull = 4,
    /// <summary>The access token is missing, unknown, expired or does not allow the role asked for.</summary>
    Unauthorized = 5,
}
