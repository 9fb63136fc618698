using System.Net.Sockets;

namespace Ferry.Hosting;

/// <summary>A listener of <c>ferry serve</c> could not bind its port ("tcp port 7701 is in use").</summary>
public sealed class ListenerStartException : Exception
{
    public ListenerStartException(string protocol, int port, SocketError error, Exception inner)
        : base(Describe(protocol, port, error), inner)
    {
        Protocol = protocol;
        Port = port;
        Error = error;
    }

    /// <summary>The listener's short name ("udp", "tcp", "zmq", "tftp", "relay").</summary>
    public string Protocol { get; }

    /// <summary>The port that was asked for.</summary>
    public int Port { get; }

    public SocketError Error { get; }

    private static string Describe(string protocol, int port, SocketError error) => error switch
    {
        SocketError.AddressAlreadyInUse => $"{protocol} port {port} is in use (by another server or program)",
        SocketError.AccessDenied => $"{protocol} port {port}: permission denied (ports below 1024 need root or CAP_NET_BIND_SERVICE)",
        SocketError.AddressNotAvailable => $"{protocol} port {port}: the --bind address is not an address of this machine",
        _ => $"{protocol} port {port}: cannot listen ({error})",
    };
}
