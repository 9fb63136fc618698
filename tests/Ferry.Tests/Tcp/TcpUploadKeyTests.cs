using System.Security.Cryptography;
using Ferry.Tcp;

namespace Ferry.Tests.Tcp;

/// <summary>The upload key of OPEN through the real listener and client.</summary>
public sealed class TcpUploadKeyTests
{
    [Fact]
    public async Task A_server_older_than_the_upload_key_still_takes_the_upload_the_client_opens_again_without_it()
    {
        await using var env = new TcpTestEnv();
        var server = await env.StartServerAsync(new TcpTestHooks { RefuseUploadKey = true });
        string src = Path.Combine(env.Local, "src.bin");
        var data = TcpTestEnv.WriteRandom(src, 5 * TcpTestEnv.BlockSize, seed: 3);
        var options = TcpTestEnv.Options(2);
        options.UploadKey = RandomNumberGenerator.GetBytes(Ferry.Files.UploadRegistry.UploadKeyLength);

        await TcpTestEnv.Client().SendAsync(src, server.Url("f.bin"), options, TcpTestEnv.Progress(), default).WaitAsync(TcpTestEnv.Bound);

        Assert.Equal(data, File.ReadAllBytes(Path.Combine(env.Root, "f.bin")));
        Assert.Contains("OPEN: malformed frame", server.Log, StringComparison.Ordinal);
    }
}
