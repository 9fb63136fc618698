using Ferry.Files;
using Ferry.Tests.Support;
using Ferry.Transfers;
using Ferry.Udp;

namespace Ferry.Tests.Udp;

/// <summary>The udp:// server makes an upload durable off its loop: a slow commit holds back no other connection.</summary>
public class UdpCommitOffLoopTests
{
    private static readonly TimeSpan s_limit = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task A_download_completes_while_an_upload_is_being_committed()
    {
        await using var server = new UdpServerFixture();
        File.WriteAllBytes(server.Local("up.bin"), new byte[20_000]);
        string target = Path.Combine(server.Root, "held", "up.bin");

        using var held = new ManualResetEventSlim();
        using var release = new ManualResetEventSlim();
        // The shared batcher serves every test in the process: only a batch holding this test's upload is held.
        Action<IReadOnlyList<PartialFile>> hold = batch =>
        {
            if (batch.Any(f => f.FinalPath == target))
            {
                held.Set();
                release.Wait(s_limit);
            }
        };
        CommitBatcher.Shared.BatchStarting += hold;
        try
        {
            var client = new UdpTransferClient();
            var upload = client.SendAsync(server.Local("up.bin"), server.Url("held/up.bin"), new ClientOptions(), new RecordingProgress(), CancellationToken.None);
            Assert.True(held.Wait(s_limit), "the upload never reached its commit");

            // The server's loop is free: another client's request is answered while the commit is held (a refusal, so
            // that this process's own commits, which share the held batcher, play no part).
            var refused = await Assert.ThrowsAsync<TransferException>(() =>
                client.GetAsync(server.Url("missing.bin"), server.Local("missing.bin"), new ClientOptions(), new RecordingProgress(), CancellationToken.None)
                    .WaitAsync(TimeSpan.FromSeconds(20)));
            Assert.Equal(ExitCode.Refused, refused.Code);
            Assert.False(upload.IsCompleted);
            Assert.False(File.Exists(target));

            release.Set();
            await upload.WaitAsync(s_limit);
            Assert.True(File.Exists(target));
        }
        finally
        {
            CommitBatcher.Shared.BatchStarting -= hold;
            release.Set();
        }
    }
}
