using Ferry.Cli;
using Xunit;

namespace Ferry.Tests.Cli;

/// <summary>The startup warm-up only runs for transfers and survives whatever the command line holds.</summary>
public sealed class StartupWarmupTests
{
    [Fact]
    public void OtherCommandsAndHelpStartNothingAndMalformedUrlsDoNotEndTheProcess()
    {
        // One test (the warm-up is process-wide state): first the commands that must not start it...
        StartupWarmup.StartFor(["serve", "--port", "7700"]);
        StartupWarmup.StartFor(["send", "--help"]);
        StartupWarmup.StartFor([]);
        Assert.False(StartupWarmup.Started);

        // ...then a transfer whose URL the parser refuses (--insecure: no handshake warm-up, which would choose
        // this test process's AES-GCM implementation). An exception escaping the warm-up thread would end the
        // test host; it has to finish quietly instead.
        StartupWarmup.StartFor(["get", "udp://[::1/x", "out.bin", "--insecure"]);
        Assert.True(StartupWarmup.Started);
        Assert.True(StartupWarmup.Finish());
    }
}
