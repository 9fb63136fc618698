namespace Ferry.Tcp;

/// <summary>Tunables of <see cref="TcpTransferClient"/> that are not command-line options (tests change them).</summary>
internal sealed class TcpClientSettings
{
    /// <summary>Connecting and the server's first answer must take less than this; null: the client's --connect-timeout.</summary>
    public TimeSpan? ConnectTimeout { get; init; }

    /// <summary>Default idle timeout (no byte on any connection while data is missing); --timeout overrides it.</summary>
    public TimeSpan IdleTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>How many times one stream index is reconnected after its connection dies.</summary>
    public int MaxReconnectsPerStream { get; init; } = 3;

    /// <summary>A download is checkpointed (fdatasync + journal) at least every this many bytes.</summary>
    public long CheckpointBytes { get; init; } = 256L << 20;

    public TcpTestHooks? Hooks { get; init; }

    /// <summary>The clock of the idle watchdog (tests pass a fake).</summary>
    public TimeProvider Time { get; init; } = TimeProvider.System;
}
