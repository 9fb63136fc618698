using System.Net;

using Ferry.Protocol.Security;
using Ferry.Security;

namespace Ferry.Hosting;

/// <summary>Options of <c>ferry serve</c>. A port of 0 binds an ephemeral port; null disables that listener.</summary>
public sealed class ServerOptions
{
    public required string Root { get; init; }

    /// <summary>Journals and databases; outside the root by default.</summary>
    public required string StateDir { get; init; }

    /// <summary>Addresses to bind; default is both 0.0.0.0 and :: (dual-stack socket).</summary>
    public IPAddress Bind { get; init; } = IPAddress.IPv6Any;

    public int? UdpPort { get; init; } = 7700;

    public int? TcpPort { get; init; } = 7701;

    public int? ZmqPort { get; init; } = 7702;

    public int? RelayPort { get; init; } = 7703;

    /// <summary>Relay history kept: at most this many messages (null: unlimited).</summary>
    public long? RelayRetainCount { get; init; }

    /// <summary>Relay history kept: messages younger than this many days (null: unlimited).</summary>
    public double? RelayRetainDays { get; init; }

    /// <summary>TFTP is off unless a port is given.</summary>
    public int? TftpPort { get; init; }

    public bool AllowOverwrite { get; init; }

    /// <summary>Free bytes an upload must leave on the root's filesystem (null: <see cref="Files.FileEngineOptions.FreeSpaceMargin"/>'s default rule).</summary>
    public long? FreeSpaceReserve { get; init; }

    public bool TftpAllowWrite { get; init; }

    /// <summary>Maximum parallel streams per tcp:// transfer.</summary>
    public int MaxStreams { get; init; } = 64;

    /// <summary>Cap of each udp:// or tcp:// transfer's rate, bit/s (<c>--max-rate</c>; 0: none).</summary>
    public long MaxRate { get; init; }

    /// <summary>Cap of the sum of the running udp:// and tcp:// transfers' rates, bit/s, shared fairly (<c>--max-total-rate</c>; 0: none).</summary>
    public long MaxTotalRate { get; init; }

    /// <summary>Idle time after which an abandoned zmq:// transfer is aborted.</summary>
    public TimeSpan ZmqIdleTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// The server's long-term key (udp://, tcp:// and the relay authenticate with it; see docs/PROTOCOL.md,
    /// "Secure channel"). Null: the server has no key and serves cleartext clients only.
    /// </summary>
    public ServerKeyPair? Identity { get; init; }

    /// <summary>Also accept clients that ask for cleartext (<c>--insecure</c>).</summary>
    public bool AllowInsecure { get; init; }

    /// <summary>Who may read and write (tokens); open by default.</summary>
    public AccessPolicy Access { get; init; } = AccessPolicy.Open;

    /// <summary>The time every listener, watchdog, access check and log line reads (tests pass a fake).</summary>
    public TimeProvider Time { get; init; } = TimeProvider.System;

    /// <summary>How the log is written: text lines (default) or JSON lines (<c>--log-format json</c>).</summary>
    public ServerLogFormat LogFormat { get; init; } = ServerLogFormat.Text;

    /// <summary>Also log details (<c>-v</c>): each request's authorization, connection-level events.</summary>
    public bool Verbose { get; init; }
}
