namespace Ferry.Protocol.Udp.Endpoint;

/// <summary>
/// Whether a client whose address is validated may have a connection: the server's limits on open connections (in
/// all, and per IP address) and on half-open ones. Decides only; the endpoint acts.
/// </summary>
internal sealed class Admission(int maxConnections, int maxConnectionsPerAddress, int maxHalfOpen)
{
    public int MaxConnections { get; } = maxConnections;

    public int MaxConnectionsPerAddress { get; } = maxConnectionsPerAddress;

    public int MaxHalfOpen { get; } = maxHalfOpen;

    /// <summary>True when a new connection must first push out the oldest half-open one.</summary>
    public bool MustEvictHalfOpen(ConnectionTable table) => table.HalfOpenCount >= MaxHalfOpen;

    /// <summary>Null when a connection from <paramref name="address"/> is admitted; otherwise the SERVER_BUSY message.</summary>
    public string? Refusal(ConnectionTable table, UInt128 address)
    {
        if (table.Count >= MaxConnections)
        {
            return "server has too many connections; try again later";
        }

        if (table.CountFrom(address) >= MaxConnectionsPerAddress)
        {
            return "too many connections from this address; try again later";
        }

        return null;
    }
}
