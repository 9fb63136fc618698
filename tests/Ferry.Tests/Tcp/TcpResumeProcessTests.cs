using System.Text.Json;
using Ferry.Tests.Support;

namespace Ferry.Tests.Tcp;

/// <summary>The real ferry client, interrupted mid-upload over tcp://, run again at once: it takes its own upload over and resumes.</summary>
public class TcpResumeProcessTests
{
    private const int SigKill = 9;
    private const int SigStop = 19;
    private static readonly TimeSpan s_limit = TimeSpan.FromSeconds(120);

    [Fact]
    public async Task Upload_whose_client_vanished_is_taken_over_at_once_by_the_same_command()
    {
        await using var env = new TcpTestEnv();
        // Silence alone would free the path only after this long: the re-run must get in with its upload key.
        var server = await env.StartServerAsync(staleUploadAfter: TimeSpan.FromMinutes(10));
        string src = Path.Combine(env.Local, "src.bin");
        var data = TcpTestEnv.WriteRandom(src, 1L << 30, seed: 23);
        string url = server.Url("dir/up.bin").ToString();

        using var first = new FerryProcess("send", src, url, "--json");
        // Stopped at the first progress it reports: loopback moves hundreds of MiB between two reports, and a client
        // that had already sent every byte leaves an upload the server is committing, which no one may take over.
        await first.WaitForEventAsync(e => e.GetProperty("event").GetString() == "progress" && e.GetProperty("bytes").GetInt64() > 0, s_limit);
        // Frozen, its connections open and silent (a client whose machine vanished; a local kill -9 would close them
        // and free the path by itself).
        first.Signal(SigStop);
        try
        {
            using var second = new FerryProcess("send", src, url, "--json");
            int exit = await second.WaitExitAsync(s_limit);
            Assert.True(exit == 0, $"exit {exit}: {second.StandardError} {server.Log}");
            Assert.Contains("takes over the upload of dir/up.bin", server.Log, StringComparison.Ordinal);
            var done = second.Events.Single(e => e.GetProperty("event").GetString() == "done");
            Assert.True(done.GetProperty("resumed_bytes").GetInt64() > 0, $"the second run resumed: {done}");
            Assert.Equal(data, File.ReadAllBytes(Path.Combine(env.Root, "dir/up.bin")));
        }
        finally
        {
            first.Signal(SigKill);
            await first.WaitExitAsync(s_limit);
        }
    }
}
