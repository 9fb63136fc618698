using Ferry.Protocol.Tftp;

namespace Ferry.Tests.Tftp;

/// <summary>Builds a client and the server its request creates, the way the shells wire them.</summary>
internal sealed class TftpScenario
{
    public const long Second = 1_000_000;

    private TftpScenario(TftpLink link, MemoryBlockSink sink, byte[] file)
    {
        Link = link;
        Sink = sink;
        File = file;
    }

    public TftpLink Link { get; }

    /// <summary>Where the bytes land (client sink on download, server sink on upload).</summary>
    public MemoryBlockSink Sink { get; }

    public byte[] File { get; }

    public TftpServerNegotiation? Negotiation { get; private set; }

    public static TftpScenario Download(byte[] file, int? blockSize = null, int? windowSize = null, int seed = 1,
        TftpServerPolicy? policy = null, TftpSessionConfig? serverConfig = null, bool askSize = true, int? timeoutSeconds = null)
    {
        var sink = new MemoryBlockSink();
        TftpScenario? scenario = null;
        var options = TftpNegotiation.ClientOptions(blockSize, windowSize, timeoutSeconds, askSize ? 0 : null);
        var link = new TftpLink(
            now => TftpReceiver.ForClient(sink, "dir/file.bin", options, 5 * Second, TftpSessionConfig.Client, now),
            (request, now) =>
            {
                Assert.True(request.IsRead);
                scenario!.Negotiation = TftpNegotiation.NegotiateServer(request, policy ?? new TftpServerPolicy(), file.Length);
                return TftpSender.ForServer(new MemoryBlockSource(file), scenario.Negotiation, serverConfig ?? TftpSessionConfig.Server, now);
            },
            seed);
        scenario = new TftpScenario(link, sink, file);
        return scenario;
    }

    public static TftpScenario Upload(byte[] file, int? blockSize = null, int? windowSize = null, int seed = 1,
        TftpServerPolicy? policy = null, TftpSessionConfig? serverConfig = null)
    {
        var sink = new MemoryBlockSink();
        TftpScenario? scenario = null;
        var options = TftpNegotiation.ClientOptions(blockSize, windowSize, null, file.Length);
        var link = new TftpLink(
            now => TftpSender.ForClient(new MemoryBlockSource(file), "up/file.bin", options, 5 * Second, TftpSessionConfig.Client, now),
            (request, now) =>
            {
                Assert.False(request.IsRead);
                scenario!.Negotiation = TftpNegotiation.NegotiateServer(request, policy ?? new TftpServerPolicy(), null);
                return TftpReceiver.ForServer(sink, scenario.Negotiation, serverConfig ?? TftpSessionConfig.Server, now);
            },
            seed);
        link.OnServerEvent = (session, e, now) =>
        {
            if (e.Kind == TftpEventKind.DataComplete)
            {
                ((TftpReceiver)session).ConfirmComplete(now);
            }
        };
        scenario = new TftpScenario(link, sink, file);
        return scenario;
    }

    /// <summary>Runs to the end and asserts both sides completed with identical bytes.</summary>
    public void RunToCompletion()
    {
        Link.Run();
        AssertCompleted();
    }

    public void AssertCompleted()
    {
        Assert.True(Link.Client.State == TftpSessionState.Completed, $"client {Link.Client.State} {Link.Client.Failure}");
        Assert.True(Link.Server!.State == TftpSessionState.Completed, $"server {Link.Server.State} {Link.Server.Failure}");
        Assert.Equal(File.Length, Sink.Length);
        Assert.True(File.AsSpan().SequenceEqual(Sink.ToArray()), "received bytes differ from the file");
    }
}
