namespace Ferry.Tests.Fuzz;

/// <summary>Every fuzz target, by name.</summary>
internal static class FuzzTargets
{
    public static IReadOnlyList<FuzzTarget> All { get; } =
    [
        UdpPacketTarget.Target,
        UdpServerTarget.Target,
        UdpClientTarget.Target,
        TcpFramesTarget.Target,
        TftpPacketTarget.Target,
        TftpSessionTarget.Target,
        ZmqRequestTarget.Target,
        RelayCodecTarget.Target,
        RelayServerTarget.Target,
        RelayClientTarget.Target,
        SecurityHandshakeTarget.Target,
        SecurityEnvelopeTarget.Target,
        ListingCodecTarget.Target,
    ];

    public static FuzzTarget Get(string name) => All.Single(t => t.Name == name);
}
