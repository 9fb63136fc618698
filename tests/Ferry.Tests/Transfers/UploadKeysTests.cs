using Ferry.Tests.Files;
using Ferry.Transfers;

namespace Ferry.Tests.Transfers;

/// <summary>One upload key per source file version and destination, kept until the upload succeeds.</summary>
public sealed class UploadKeysTests
{
    [Fact]
    public void The_same_upload_gets_the_same_key_until_it_is_forgotten()
    {
        using var dir = new TempDir();
        string src = dir.Combine("src.bin");
        File.WriteAllText(src, "x");
        var keys = new UploadKeys(dir.Combine("keys"));
        var url = TransferClients.ParseUrl("udp://127.0.0.1:7700/a/b.bin");

        byte[] first = keys.GetOrCreate(src, url);
        Assert.Equal(first, new UploadKeys(dir.Combine("keys")).GetOrCreate(src, TransferClients.ParseUrl("udp://127.0.0.1:7700/a/b.bin")));

        keys.Forget(src, url);
        Assert.NotEqual(first, keys.GetOrCreate(src, url));
    }

    [Theory]
    [InlineData("udp://127.0.0.1:7700/a/c.bin")]
    [InlineData("udp://127.0.0.1:7700/a/b.bin#2")]
    [InlineData("udp://127.0.0.1:7701/a/b.bin")]
    [InlineData("tcp://127.0.0.1:7700/a/b.bin")]
    public void Another_destination_gets_another_key(string other)
    {
        using var dir = new TempDir();
        string src = dir.Combine("src.bin");
        File.WriteAllText(src, "x");
        var keys = new UploadKeys(dir.Combine("keys"));

        byte[] key = keys.GetOrCreate(src, TransferClients.ParseUrl("udp://127.0.0.1:7700/a/b.bin"));
        Assert.NotEqual(key, keys.GetOrCreate(src, TransferClients.ParseUrl(other)));
    }
}
