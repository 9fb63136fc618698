using System.Text.Json;

namespace Ferry.Tests.Wan;

/// <summary>
/// ferry udp:// across the emulated WAN of bench/wan.sh (two network namespaces joined by the WanEmu link
/// emulator): the real executables, a real kernel path, real delay and loss. Runs as root only; skipped otherwise.
/// </summary>
public class WanEmulatorTests
{
    private static readonly TimeSpan s_transferLimit = TimeSpan.FromSeconds(45);

    [WanFact]
    public async Task Upload_and_download_across_a_lossy_50M_10ms_link_are_byte_identical()
    {
        string work = Path.Combine(Directory.Exists("/dev/shm") ? "/dev/shm" : Path.GetTempPath(), "ferry-wan-test-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(Path.Combine(work, "root"));
        try
        {
            var data = new byte[8 << 20];
            new Random(8).NextBytes(data);
            string src = Path.Combine(work, "src.bin");
            File.WriteAllBytes(src, data);

            // Up to 3 minutes: the first run builds the emulator.
            using var link = WanLink.Up(TimeSpan.FromMinutes(3), "--rate", "50M", "--delay", "10ms", "--loss", "1%", "--queue", "1000", "--seed", "5");
            Assert.Contains("a->b: rate 50M, delay 10 ms, queue 1000 pkts, loss 1%", link.Log());

            string dotnet = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host : "dotnet";
            string ferry = Path.Combine(AppContext.BaseDirectory, "ferry.dll");
            using var server = link.Exec(link.NamespaceB, dotnet, ferry, "serve", "--root", Path.Combine(work, "root"),
                "--state-dir", Path.Combine(work, "state"), "--bind", WanLink.AddressB, "--port", "7700",
                "--tcp-port", "-1", "--zmq-port", "-1", "--relay-port", "-1");
            await server.WaitForLineAsync(l => l.Contains("listening", StringComparison.Ordinal), TimeSpan.FromSeconds(30));

            string url = $"udp://{WanLink.AddressB}:7700/up.bin";
            var up = await RunAsync(link, dotnet, ferry, "send", src, url, "--json");
            Assert.Equal(data, File.ReadAllBytes(Path.Combine(work, "root", "up.bin")));

            string copy = Path.Combine(work, "copy.bin");
            var down = await RunAsync(link, dotnet, ferry, "get", url, copy, "--json");
            Assert.Equal(data, File.ReadAllBytes(copy));
            Assert.Equal(up.GetProperty("sha256").GetString(), down.GetProperty("sha256").GetString());

            // The transfer really crossed the emulated link: its round trip is at least the 20 ms the link adds
            // (loopback would be well under 1 ms), and the uploader lost and resent some of its ~6000 packets to the
            // 1% loss (the chance of none lost is about e^-60).
            Assert.True(up.GetProperty("srtt_us").GetInt64() >= 20_000, $"srtt {up.GetProperty("srtt_us")} us");
            Assert.True(up.GetProperty("packets_lost").GetInt64() > 0, "no packet lost on a 1% loss link");
            Assert.True(up.GetProperty("data_bytes_retransmitted").GetInt64() > 0, "nothing retransmitted on a 1% loss link");
        }
        finally
        {
            try
            {
                Directory.Delete(work, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }

    /// <summary>Runs a ferry client in namespace A; asserts exit code 0 and returns its done event.</summary>
    private static async Task<JsonElement> RunAsync(WanLink link, string dotnet, params string[] args)
    {
        using var client = link.Exec(link.NamespaceA, dotnet, args);
        int code = await client.WaitExitAsync(s_transferLimit);
        Assert.True(code == 0, $"ferry {args[1]} exited {code}:\n{client.Output}");
        string done = client.Output.Split('\n').Last(l => l.Contains("\"event\":\"done\"", StringComparison.Ordinal));
        return JsonDocument.Parse(done).RootElement.Clone();
    }
}
