using System.Security.Cryptography;
using Ferry.Files;
using Ferry.Protocol.Common;

namespace Ferry.Tests.Files;

public class ResumeTests
{
    private static byte[] RandomBytes(int seed, int length)
    {
        var data = new byte[length];
        new Random(seed).NextBytes(data);
        return data;
    }

    private static List<ByteRange> Ranges(RangeSet set) => set.ToList();

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void SameIdentity_RestoresExactlyTheCheckpointedRanges(bool background)
    {
        using var fx = new EngineFixture();
        var data = RandomBytes(10, 2_500_000);
        var id = new FileIdentity(data.Length, 1_700_000_000_123);
        string journalCopy = Path.Combine(fx.Outside, "journal.copy");
        List<ByteRange> checkpointed;
        using (var up = fx.Engine.BeginUpload("r/file.bin", data.Length, id, "first"))
        {
            Assert.Equal(0, up.File.ResumedBytes);
            up.File.HashInBackground = background;
            up.File.Write(0, data.AsSpan(0, 700_000));
            up.File.Write(1_000_000, data.AsSpan(1_000_000, 300_000));
            up.File.Write(2_400_000, data.AsSpan(2_400_000, 100_000));
            up.File.Checkpoint();
            checkpointed = Ranges(up.File.Received);
            File.Copy(up.File.JournalPath, journalCopy);

            // Written after the last checkpoint: a crash now must not claim these bytes.
            up.File.Write(1_500_000, data.AsSpan(1_500_000, 10_000));
            up.File.Dispose();

            // Simulate the crash by putting back the journal as it was at the checkpoint.
            File.Copy(journalCopy, up.File.JournalPath, overwrite: true);
        }

        using (var up = fx.Engine.BeginUpload("r/file.bin", data.Length, id, "second"))
        {
            Assert.Equal(checkpointed, Ranges(up.File.Received));
            Assert.Equal(1_100_000, up.File.ResumedBytes);
            up.File.HashInBackground = background;
            foreach (var gap in up.File.Received.Gaps(0, data.Length).ToList())
            {
                up.File.Write(gap.Start, data.AsSpan((int)gap.Start, (int)gap.Length));
            }

            up.File.Flush();
            Assert.Equal(data, TestNative.ReadAllUnlocked(up.File.TempPath));

            // The hash is built from what is really on disk for the resumed ranges.
            Assert.Equal(SHA256.HashData(data), up.File.ComputeSha256());
            up.File.Commit(SHA256.HashData(data));
        }

        Assert.Equal(data, File.ReadAllBytes(fx.InRoot("r/file.bin")));
    }

    [Fact]
    public void Dispose_KeepsEverythingWritten_ForResume()
    {
        using var fx = new EngineFixture();
        var data = RandomBytes(11, 50_000);
        var id = new FileIdentity(data.Length, 42);
        using (var up = fx.Engine.BeginUpload("d.bin", data.Length, id, "first"))
        {
            up.File.Write(0, data.AsSpan(0, 1000));
            up.File.Write(30_000, data.AsSpan(30_000, 500));
        }

        using var again = fx.Engine.BeginUpload("d.bin", data.Length, id, "second");
        Assert.Equal([new ByteRange(0, 1000), new ByteRange(30_000, 30_500)], Ranges(again.File.Received));
    }

    [Fact]
    public void DifferentIdentity_StartsOver()
    {
        using var fx = new EngineFixture();
        var data = RandomBytes(12, 10_000);
        using (var up = fx.Engine.BeginUpload("v.bin", data.Length, new FileIdentity(data.Length, 1), "first"))
        {
            up.File.Write(0, data.AsSpan(0, 5000));
            up.File.Checkpoint();
        }

        using (var up = fx.Engine.BeginUpload("v.bin", data.Length, new FileIdentity(data.Length, 2), "second"))
        {
            Assert.True(up.File.Received.IsEmpty);
            Assert.Equal(0, up.File.ResumedBytes);
            Assert.Equal(0, new FileInfo(up.File.TempPath).Length);
        }
    }

    [Fact]
    public void DifferentSize_StartsOver()
    {
        using var fx = new EngineFixture();
        var id = new FileIdentity(10_000, 1);
        using (var up = fx.Engine.BeginUpload("s.bin", 10_000, id, "first"))
        {
            up.File.Write(0, new byte[5000]);
        }

        using var again = fx.Engine.BeginUpload("s.bin", 9_000, id, "second");
        Assert.True(again.File.Received.IsEmpty);
    }

    [Fact]
    public void NullIdentity_NeverResumes()
    {
        using var fx = new EngineFixture();
        string temp;
        using (var up = fx.Engine.BeginUpload("n.bin", 10_000, null, "first"))
        {
            up.File.Write(0, new byte[5000]);
            up.File.Checkpoint();
            Assert.False(File.Exists(up.File.JournalPath));
            temp = up.File.TempPath;
        }

        // Nothing could resume it, so it is not left behind.
        Assert.False(File.Exists(temp));

        using var again = fx.Engine.BeginUpload("n.bin", 10_000, null, "second");
        Assert.True(again.File.Received.IsEmpty);
    }

    [Fact]
    public void CorruptJournal_StartsOver()
    {
        using var fx = new EngineFixture();
        var id = new FileIdentity(10_000, 1);
        string journal;
        using (var up = fx.Engine.BeginUpload("c.bin", 10_000, id, "first"))
        {
            up.File.Write(0, new byte[5000]);
            up.File.Checkpoint();
            journal = up.File.JournalPath;
        }

        var bytes = File.ReadAllBytes(journal);
        bytes[^10] ^= 0x40;
        File.WriteAllBytes(journal, bytes);
        using var again = fx.Engine.BeginUpload("c.bin", 10_000, id, "second");
        Assert.True(again.File.Received.IsEmpty);
    }

    [Fact]
    public void TruncatedTempFile_StartsOver()
    {
        using var fx = new EngineFixture();
        var id = new FileIdentity(10_000, 1);
        string temp;
        using (var up = fx.Engine.BeginUpload("t.bin", 10_000, id, "first"))
        {
            up.File.Write(0, new byte[8000]);
            up.File.Checkpoint();
            temp = up.File.TempPath;
        }

        File.WriteAllBytes(temp, new byte[100]);
        using var again = fx.Engine.BeginUpload("t.bin", 10_000, id, "second");
        Assert.True(again.File.Received.IsEmpty);
    }

    [Fact]
    public void Download_ResumesBesideDestination()
    {
        using var dir = new TempDir();
        var data = RandomBytes(13, 300_000);
        var id = new FileIdentity(data.Length, 99);
        string dest = dir.Combine("out", "copy.bin");
        using (var pf = PartialFile.ForDownload(dest, data.Length, id, overwrite: false))
        {
            Assert.Equal(dir.Combine("out", ".copy.bin.ferry-part"), pf.TempPath);
            Assert.Equal(dir.Combine("out", ".copy.bin.ferry-journal"), pf.JournalPath);
            pf.Write(100_000, data.AsSpan(100_000, 50_000));
            pf.Checkpoint();
        }

        using (var pf = PartialFile.ForDownload(dest, data.Length, id, overwrite: false))
        {
            Assert.Equal(50_000, pf.ResumedBytes);
            foreach (var gap in pf.Received.Gaps(0, data.Length).ToList())
            {
                pf.Write(gap.Start, data.AsSpan((int)gap.Start, (int)gap.Length));
            }

            pf.Commit(SHA256.HashData(data));
        }

        Assert.Equal(data, File.ReadAllBytes(dest));
        Assert.Equal(["copy.bin"], Directory.GetFiles(dir.Combine("out")).Select(Path.GetFileName));
    }
}
