namespace Ferry.Zmq.Client;

/// <summary>The CURVE public key a zmq:// client expects its server to hold, and where it came from.</summary>
/// <param name="Key">32 bytes (ZMQ_CURVE_SERVERKEY).</param>
/// <param name="Z85">The same key as users see it.</param>
/// <param name="Origin">"--server-key" or the known_hosts path, for messages.</param>
/// <param name="KnownHostsName">The known_hosts name of the server, <c>zmq:host:port</c>.</param>
/// <param name="Pinned">True when known_hosts already has exactly this key (nothing to record after connecting).</param>
public sealed record ZmqServerKey(byte[] Key, string Z85, string Origin, string KnownHostsName, bool Pinned);
