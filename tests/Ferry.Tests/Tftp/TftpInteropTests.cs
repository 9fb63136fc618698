using System.Diagnostics;
using Ferry.Tftp;
using Ferry.Tests.Support;
using Ferry.Transfers;

namespace Ferry.Tests.Tftp;

/// <summary>
/// Real TFTP implementations against Ferry on 127.0.0.1: atftp, curl and tftp-hpa download from Ferry's server,
/// atftp uploads to it, and Ferry's client downloads from tftpd-hpa. Each test skips when its tool is missing.
/// </summary>
public sealed class TftpInteropTests
{
    private const int BigSize = (4 << 20) + 12345;
    private static readonly TimeSpan s_limit = TimeSpan.FromSeconds(60);

    [RequiresToolFact("atftp", "atftp")]
    public async Task Atftp_downloads_with_blksize_1428_and_windowsize_16()
    {
        await using var server = new TftpServerFixture();
        var data = server.CreateFile("pxe/big.bin", BigSize, seed: 21);
        string output = server.Local("atftp.bin");
        var (code, text) = await ExternalTool.RunAsync("atftp",
            ["--option", "blksize 1428", "--option", "windowsize 16", "--option", "tsize 0", "-g", "-r", "pxe/big.bin", "-l", output, "127.0.0.1", server.Port.ToString()], s_limit);
        Assert.True(code == 0, text);
        Assert.Equal(data, await File.ReadAllBytesAsync(output));
        Assert.Contains("blksize 1428 windowsize 16", server.LogText);
    }

    [RequiresToolFact("curl", "curl")]
    public async Task Curl_downloads_with_tftp_blksize()
    {
        await using var server = new TftpServerFixture();
        var data = server.CreateFile("big.bin", BigSize, seed: 22);
        string output = server.Local("curl.bin");
        var (code, text) = await ExternalTool.RunAsync("curl",
            ["-s", "-S", "--tftp-blksize", "1428", "-o", output, $"tftp://127.0.0.1:{server.Port}/big.bin"], s_limit);
        Assert.True(code == 0, text);
        Assert.Equal(data, await File.ReadAllBytesAsync(output));
        Assert.Contains("blksize 1428 windowsize 1", server.LogText);
    }

    [RequiresToolFact("tftp", "tftp-hpa")]
    public async Task Tftp_hpa_downloads_without_options()
    {
        await using var server = new TftpServerFixture();
        var data = server.CreateFile("big.bin", BigSize, seed: 23);
        string output = server.Local("hpa.bin");
        var (code, text) = await ExternalTool.RunAsync("tftp",
            ["-m", "binary", "127.0.0.1", server.Port.ToString(), "-c", "get", "big.bin", output], s_limit);
        Assert.True(code == 0, text);
        Assert.Equal(data, await File.ReadAllBytesAsync(output));
        Assert.Contains("blksize 512 windowsize 1", server.LogText);
    }

    [RequiresToolFact("tftp", "tftp-hpa")]
    public async Task Tftp_hpa_netascii_get_and_put_convert_line_ends()
    {
        await using var server = new TftpServerFixture(allowWrite: true);
        string text = string.Concat(Enumerable.Range(0, 3000).Select(i => $"line {i}\n" + (i % 7 == 0 ? "bare\rcr\n" : string.Empty)));
        await File.WriteAllTextAsync(Path.Combine(server.Root, "t.txt"), text);
        string output = server.Local("t.txt");
        var (code, log) = await ExternalTool.RunAsync("tftp", ["-m", "ascii", "127.0.0.1", server.Port.ToString(), "-c", "get", "t.txt", output], s_limit);
        Assert.True(code == 0, log);
        Assert.Equal(text, await File.ReadAllTextAsync(output));

        (code, log) = await ExternalTool.RunAsync("tftp", ["-m", "ascii", "127.0.0.1", server.Port.ToString(), "-c", "put", output, "back.txt"], s_limit);
        Assert.True(code == 0, log);
        Assert.Equal(text, await File.ReadAllTextAsync(Path.Combine(server.Root, "back.txt")));
    }

    [RequiresToolFact("atftp", "atftp")]
    public async Task Atftp_uploads_when_writes_are_allowed()
    {
        await using var server = new TftpServerFixture(allowWrite: true);
        var data = MemoryBlockSource.Content((2 << 20) + 7, 24);
        string input = server.Local("up.bin");
        await File.WriteAllBytesAsync(input, data);

        // Without tsize (spooled until the end) and with tsize (straight into the engine's temp file).
        var (code, text) = await ExternalTool.RunAsync("atftp", ["-p", "-l", input, "-r", "in/plain.bin", "127.0.0.1", server.Port.ToString()], s_limit);
        Assert.True(code == 0, text);
        (code, text) = await ExternalTool.RunAsync("atftp",
            ["--option", "tsize 0", "--option", "blksize 1428", "--option", "windowsize 16", "-p", "-l", input, "-r", "in/sized.bin", "127.0.0.1", server.Port.ToString()], s_limit);
        Assert.True(code == 0, text);

        Assert.Equal(data, await File.ReadAllBytesAsync(Path.Combine(server.Root, "in/plain.bin")));
        Assert.Equal(data, await File.ReadAllBytesAsync(Path.Combine(server.Root, "in/sized.bin")));
        Assert.Contains($"{data.Length} bytes", server.LogText);
        Assert.Empty(Directory.GetFiles(server.Root, "*ferry*", SearchOption.AllDirectories));
    }

    [RequiresToolFact("atftp", "atftp")]
    public async Task Atftp_upload_is_refused_when_writes_are_not_allowed()
    {
        await using var server = new TftpServerFixture(allowWrite: false);
        string input = server.Local("up.bin");
        await File.WriteAllBytesAsync(input, new byte[5000]);
        var (code, text) = await ExternalTool.RunAsync("atftp", ["-p", "-l", input, "-r", "x.bin", "127.0.0.1", server.Port.ToString()], s_limit);
        Assert.NotEqual(0, code);
        Assert.Contains("--tftp-allow-write", text);
        Assert.False(File.Exists(Path.Combine(server.Root, "x.bin")));
    }

    [RequiresToolFact("in.tftpd", "tftpd-hpa")]
    public async Task Ferry_client_downloads_from_tftpd_hpa()
    {
        using var dir = new Files.TempDir();
        string served = dir.Combine("srv");
        Directory.CreateDirectory(served);
        var data = MemoryBlockSource.Content(BigSize, 25);
        await File.WriteAllBytesAsync(Path.Combine(served, "big.bin"), data);
        int port = ExternalTool.FreeUdpPort();

        var args = new List<string> { "-L", "-s", served, "--address", $"127.0.0.1:{port}" };
        if (Environment.UserName != "root")
        {
            // in.tftpd drops to user "tftp" by default, which only root may do.
            args.AddRange(["-u", Environment.UserName]);
        }

        var psi = new ProcessStartInfo(ExternalTool.Find("in.tftpd")!) { UseShellExecute = false, RedirectStandardError = true, RedirectStandardOutput = true };
        args.ForEach(psi.ArgumentList.Add);
        using var daemon = Process.Start(psi)!;
        try
        {
            var client = new TftpClient();
            string output = dir.Combine("out", "big.bin");
            Directory.CreateDirectory(dir.Combine("out"));

            // A 1 s timeout lets the RRQ be repeated if the daemon is still starting.
            var options = new ClientOptions { BlockSize = 1428, WindowSize = 16, Timeout = TimeSpan.FromSeconds(1) };
            var result = await client.GetAsync(new Uri($"tftp://127.0.0.1:{port}/big.bin"), output, options, new RecordingProgress(), CancellationToken.None)
                .WaitAsync(s_limit);
            Assert.Equal(data, await File.ReadAllBytesAsync(output));
            Assert.Equal(TftpServerFixture.Sha256Hex(data), result.Sha256Hex);
            Assert.Equal(data.Length, result.Bytes);

            // tftpd-hpa 5.2 grants blksize but not windowsize: the client falls back to lock-step.
            Assert.Equal(1428, result.Stats["blksize"]);
            Assert.Equal(1, result.Stats["windowsize"]);
        }
        finally
        {
            if (!daemon.HasExited)
            {
                daemon.Kill();
                daemon.WaitForExit(5000);
            }
        }
    }
}
