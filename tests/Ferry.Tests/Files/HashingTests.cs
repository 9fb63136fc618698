using System.Security.Cryptography;
using Ferry.Files;

namespace Ferry.Tests.Files;

/// <summary>Incremental hashing on both sides must equal SHA256.HashData whatever the order of writes and reads.</summary>
public class HashingTests
{
    private static byte[] RandomBytes(Random rng, int length)
    {
        var data = new byte[length];
        rng.NextBytes(data);
        return data;
    }

    [Theory]
    [InlineData(1, 3_000_000, 1400)]
    [InlineData(2, 2_000_003, 9000)]
    [InlineData(3, 5_000_000, 700_000)]
    [InlineData(4, 1_234_567, 1)]
    [InlineData(5, 100_000, 100_000)]
    public void PartialFile_RandomOutOfOrderWrites_HashMatches(int seed, int size, int maxChunk)
    {
        var rng = new Random(seed);
        var data = RandomBytes(rng, size);
        using var dir = new TempDir();
        using var pf = PartialFile.ForDownload(dir.Combine("f.bin"), size, new FileIdentity(size, seed), overwrite: false);

        // Cut the file into random chunks, shuffle them mostly-in-order (like a lossy network), and add
        // duplicated and overlapping writes that must be ignored.
        var chunks = new List<(int Off, int Len)>();
        for (int off = 0; off < size;)
        {
            int len = Math.Min(size - off, 1 + rng.Next(maxChunk == 1 ? 4096 : maxChunk));
            chunks.Add((off, len));
            off += len;
        }

        for (int i = 0; i < chunks.Count; i++)
        {
            if (rng.Next(4) == 0)
            {
                int j = Math.Min(chunks.Count - 1, i + rng.Next(50));
                (chunks[i], chunks[j]) = (chunks[j], chunks[i]);
            }
        }

        int writes = 0;
        foreach (var (off, len) in chunks)
        {
            pf.Write(off, data.AsSpan(off, len));
            if (rng.Next(10) == 0)
            {
                // Duplicate or overlapping retransmission.
                int o = Math.Max(0, off - rng.Next(1000));
                int l = Math.Min(size - o, len + rng.Next(2000));
                pf.Write(o, data.AsSpan(o, l));
            }

            if (++writes % 500 == 0)
            {
                pf.Checkpoint();
            }
        }

        Assert.True(pf.IsComplete);
        var expected = SHA256.HashData(data);
        Assert.Equal(expected, pf.ComputeSha256());
        pf.Commit(expected);
        Assert.Equal(data, File.ReadAllBytes(dir.Combine("f.bin")));
    }

    [Fact]
    public void PartialFile_ReverseOrderWrites_HashMatches()
    {
        var data = RandomBytes(new Random(7), 3_000_000);
        using var dir = new TempDir();
        using var pf = PartialFile.ForDownload(dir.Combine("r.bin"), data.Length, new FileIdentity(data.Length, 7), overwrite: false);
        for (int off = data.Length; off > 0;)
        {
            int start = Math.Max(0, off - 1400);
            pf.Write(start, data.AsSpan(start, off - start));
            off = start;
        }

        Assert.Equal(SHA256.HashData(data), pf.ComputeSha256());
    }

    [Fact]
    public void PartialFile_ComputeBeforeComplete_Throws()
    {
        using var dir = new TempDir();
        using var pf = PartialFile.ForDownload(dir.Combine("i.bin"), 10, new FileIdentity(10, 1), overwrite: false);
        pf.Write(0, new byte[9]);
        Assert.Throws<InvalidOperationException>(() => pf.ComputeSha256());
    }

    [Theory]
    [InlineData(11, 3_000_000, 1 << 20, false)]
    [InlineData(12, 1_000_001, 4096, false)]
    [InlineData(13, 10, 4096, false)]
    [InlineData(14, 0, 4096, false)]
    [InlineData(11, 3_000_000, 1 << 20, true)]
    [InlineData(12, 1_000_001, 4096, true)]
    [InlineData(16, 400_000, 4096, true)]
    [InlineData(13, 10, 4096, true)]
    public void HashingFileSource_MixedSequentialAndRandomReads_HashMatches(int seed, int size, int blockSize, bool background)
    {
        var rng = new Random(seed);
        var data = RandomBytes(rng, size);
        using var dir = new TempDir();
        File.WriteAllBytes(dir.Combine("s.bin"), data);
        using var handle = File.OpenHandle(dir.Combine("s.bin"));
        using var src = new HashingFileSource(handle, size, blockSize, backgroundHashing: background);
        var buf = new byte[20_000];
        long seq = 0;
        while (seq < size)
        {
            if (rng.Next(3) == 0)
            {
                // A retransmission somewhere already sent, or a peek ahead.
                long off = rng.NextInt64(size);
                int len = rng.Next(1, buf.Length);
                int n = src.Read(off, buf.AsSpan(0, len));
                Assert.Equal((int)Math.Min(len, size - off), n);
                Assert.True(data.AsSpan((int)off, n).SequenceEqual(buf.AsSpan(0, n)));
            }
            else
            {
                int len = rng.Next(1, buf.Length);
                int n = src.Read(seq, buf.AsSpan(0, len));
                Assert.True(data.AsSpan((int)seq, n).SequenceEqual(buf.AsSpan(0, n)));
                seq += n;
            }
        }

        Assert.Equal(size, src.HashedBytes);
        Assert.Equal(SHA256.HashData(data), src.CompleteHash());
        Assert.Equal(SHA256.HashData(data), src.CompleteHash());
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void HashingFileSource_OnlyTailReadSequentially_CompleteHashCoversTheRest(bool background)
    {
        // A resumed upload: the peer already has the first half, so reads start in the middle.
        var data = RandomBytes(new Random(15), 2_500_000);
        using var dir = new TempDir();
        File.WriteAllBytes(dir.Combine("t.bin"), data);
        using var handle = File.OpenHandle(dir.Combine("t.bin"));
        using var src = new HashingFileSource(handle, data.Length, 64 * 1024, backgroundHashing: background);
        var buf = new byte[1400];
        for (long off = 1_250_000; off < data.Length; off += 1400)
        {
            int n = src.Read(off, buf);
            Assert.True(data.AsSpan((int)off, n).SequenceEqual(buf.AsSpan(0, n)));
        }

        Assert.Equal(0, src.HashedBytes);
        Assert.Equal(SHA256.HashData(data), src.CompleteHash());
    }

    [Fact]
    public void HashingFileSource_ReadsAfterCompleteHash_StillReturnData()
    {
        var data = RandomBytes(new Random(16), 100_000);
        using var dir = new TempDir();
        File.WriteAllBytes(dir.Combine("a.bin"), data);
        using var handle = File.OpenHandle(dir.Combine("a.bin"));
        using var src = new HashingFileSource(handle, data.Length, 4096);
        var hash = src.CompleteHash();
        var buf = new byte[5000];
        Assert.Equal(5000, src.Read(50_000, buf));
        Assert.True(data.AsSpan(50_000, 5000).SequenceEqual(buf));
        Assert.Equal(0, src.Read(data.Length, buf));
        Assert.Equal(SHA256.HashData(data), hash);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void HashingFileSource_FileShrank_IsIoError(bool background)
    {
        using var dir = new TempDir();
        File.WriteAllBytes(dir.Combine("s.bin"), new byte[1000]);
        using var handle = File.OpenHandle(dir.Combine("s.bin"));
        using var src = new HashingFileSource(handle, 5000, 4096, backgroundHashing: background);
        var ex = Assert.Throws<FileEngineException>(() => src.Read(0, new byte[100]));
        Assert.Equal(FileErrorCode.Io, ex.Code);
    }

    [Fact]
    public void ReadableFile_IdentityAndPositionalReads()
    {
        using var fx = new EngineFixture();
        var data = RandomBytes(new Random(17), 10_000);
        File.WriteAllBytes(fx.InRoot("id.bin"), data);
        var mtime = new DateTimeOffset(2024, 1, 2, 3, 4, 5, 678, TimeSpan.Zero);
        File.SetLastWriteTimeUtc(fx.InRoot("id.bin"), mtime.UtcDateTime);
        using var f = fx.Engine.OpenRead("id.bin");
        Assert.Equal(new FileIdentity(10_000, mtime.ToUnixTimeMilliseconds()), f.Identity);
        var buf = new byte[3000];
        Assert.Equal(1000, f.ReadAt(9000, buf));
        Assert.True(data.AsSpan(9000).SequenceEqual(buf.AsSpan(0, 1000)));
        Assert.Equal(0, f.ReadAt(10_000, buf));

        // Opened non-blocking (so a fifo cannot hang the server) but handed out as an ordinary blocking handle.
        string fdinfo = File.ReadAllText($"/proc/self/fdinfo/{f.Handle.DangerousGetHandle()}");
        string flagsLine = fdinfo.Split('\n').Single(l => l.StartsWith("flags:", StringComparison.Ordinal));
        int flags = Convert.ToInt32(flagsLine["flags:".Length..].Trim(), 8);
        Assert.Equal(0, flags & 0x800);
        Assert.False(f.Handle.IsAsync);
        using var fs = new FileStream(f.Handle, FileAccess.Read);
        Assert.Equal(data[0], fs.ReadByte());
    }
}
