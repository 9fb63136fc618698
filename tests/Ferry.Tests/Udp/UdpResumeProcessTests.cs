using System.Text.Json;
using Ferry.Tests.Support;

namespace Ferry.Tests.Udp;

/// <summary>Interrupting the real ferry client (SIGKILL, SIGINT) and running the same command again resumes.</summary>
public class UdpResumeProcessTests
{
    private const int SigInt = 2;
    private const int SigKill = 9;
    private static readonly TimeSpan s_limit = TimeSpan.FromSeconds(120);

    private static bool IsProgressPast(JsonElement e, long bytes) =>
        e.GetProperty("event").GetString() == "progress" && e.GetProperty("bytes").GetInt64() >= bytes;

    private static byte[] WriteRandom(string path, int length)
    {
        var data = new byte[length];
        new Random(length).NextBytes(data);
        File.WriteAllBytes(path, data);
        return data;
    }

    [Fact]
    public async Task Download_interrupted_by_ctrl_c_resumes_from_what_was_received()
    {
        await using var server = new UdpServerFixture();
        var data = WriteRandom(Path.Combine(server.Root, "big.bin"), 512 << 20);
        string dest = server.Local("copy.bin");
        string url = server.Url("big.bin").ToString();

        using (var first = new FerryProcess("get", url, dest, "--json"))
        {
            await first.WaitForEventAsync(e => IsProgressPast(e, 40 << 20), s_limit);
            first.Signal(SigInt);
            int code = await first.WaitExitAsync(s_limit);
            if (code == 0)
            {
                return; // finished before the signal landed: nothing to resume (fast machine); covered by the kill test
            }

            Assert.Equal(130, code);
            Assert.False(File.Exists(dest), "no file under the final name after an interruption");
        }

        using var second = new FerryProcess("get", url, dest, "--json");
        int exit = await second.WaitExitAsync(s_limit);
        Assert.True(exit == 0, $"exit {exit}: {second.StandardError} {server.Log}");
        var done = second.Events.Single(e => e.GetProperty("event").GetString() == "done");
        Assert.True(done.GetProperty("resumed_bytes").GetInt64() > 0, "the second run resumed");
        Assert.True(done.GetProperty("data_bytes_sent").GetInt64() == 0);
        Assert.Equal(data, File.ReadAllBytes(dest));
        Assert.Empty(Directory.GetFiles(server.Scratch, "*.ferry-*"));
    }

    [Fact]
    public async Task Upload_killed_with_sigkill_resumes_at_once_when_run_again()
    {
        // The killed client's connection stays open on the server until its idle timeout, and silence alone would let
        // a new upload take the path over only after this long: the re-run must get in with its upload key.
        await using var server = new UdpServerFixture(staleUploadAfter: TimeSpan.FromMinutes(10));
        string src = server.Local("src.bin");
        var data = WriteRandom(src, 512 << 20);
        string url = server.Url("dir/up.bin").ToString();

        using (var first = new FerryProcess("send", src, url, "--json"))
        {
            // The server journals every 64 MiB (and every second): once 80 MiB are acknowledged, kill without warning.
            await first.WaitForEventAsync(e => IsProgressPast(e, 80 << 20), s_limit);
            first.Signal(SigKill);
            int code = await first.WaitExitAsync(s_limit);
            if (code == 0)
            {
                return;
            }
        }

        Assert.False(File.Exists(Path.Combine(server.Root, "dir/up.bin")), "no file under the final name after a kill");
        using var second = new FerryProcess("send", src, url, "--json");
        int exit = await second.WaitExitAsync(s_limit);
        Assert.True(exit == 0, $"exit {exit}: {second.StandardError} {server.Log}");
        Assert.Contains("takes over the upload of dir/up.bin", server.Log.ToString(), StringComparison.Ordinal);
        var done = second.Events.Single(e => e.GetProperty("event").GetString() == "done");
        Assert.True(done.GetProperty("resumed_bytes").GetInt64() > 0, $"the second run resumed: {done}");
        Assert.True(done.GetProperty("data_bytes_sent").GetInt64() < data.Length);
        Assert.Equal(data, File.ReadAllBytes(Path.Combine(server.Root, "dir/up.bin")));
    }
}
