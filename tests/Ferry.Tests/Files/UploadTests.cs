using System.Security.Cryptography;
using Ferry.Files;

namespace Ferry.Tests.Files;

public class UploadTests
{
    private static byte[] RandomBytes(int seed, int length)
    {
        var data = new byte[length];
        new Random(seed).NextBytes(data);
        return data;
    }

    [Fact]
    public void Commit_HappyPath_FileAppearsOnlyAfterCommit()
    {
        using var fx = new EngineFixture();
        var data = RandomBytes(1, 3_000_017);
        using (var up = fx.Engine.BeginUpload("dir/sub/file.bin", data.Length, new FileIdentity(data.Length, 1), "test"))
        {
            for (int off = 0; off < data.Length; off += 1400)
            {
                int n = Math.Min(1400, data.Length - off);
                up.File.Write(off, data.AsSpan(off, n));
            }

            Assert.False(File.Exists(fx.InRoot("dir/sub/file.bin")));
            Assert.True(up.File.IsComplete);
            up.File.Commit(SHA256.HashData(data));
            Assert.True(up.File.IsCommitted);
        }

        Assert.Equal(data, File.ReadAllBytes(fx.InRoot("dir/sub/file.bin")));
        Assert.Empty(Directory.GetFiles(fx.InRoot("dir/sub"), "*.ferry-part"));
        Assert.Empty(Directory.GetFiles(Path.Combine(fx.StateDir, "journals")));
        Assert.Equal(0, fx.Engine.Registry.Count);

        using var read = fx.Engine.OpenRead("dir/sub/file.bin");
        Assert.Equal(data.Length, read.Length);
        using var src = read.CreateHashingSource();
        var buf = new byte[1400];
        for (long off = 0; off < read.Length; off += 1400)
        {
            int n = src.Read(off, buf);
            Assert.True(data.AsSpan((int)off, n).SequenceEqual(buf.AsSpan(0, n)));
        }

        Assert.Equal(SHA256.HashData(data), src.CompleteHash());
    }
}
