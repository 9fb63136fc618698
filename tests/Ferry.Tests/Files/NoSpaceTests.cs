using Ferry.Files;

namespace Ferry.Tests.Files;

/// <summary>A disk that fills up mid-transfer, on a real 2 MiB tmpfs.</summary>
public class NoSpaceTests
{
    [TmpfsFact]
    public void DiskFullMidWrite_IsNoSpace_TempKeptForResume()
    {
        using var dir = new TempDir();
        string mount = dir.Combine("small");
        Directory.CreateDirectory(mount);
        Assert.Equal(0, TestNative.Run("mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", mount));
        try
        {
            var engine = new FileEngine(new FileEngineOptions
            {
                Root = Path.Combine(mount, "root"),
                StateDir = dir.Combine("state"),
                FreeSpaceMargin = 0,
            });
            var data = new byte[1_500_000];
            new Random(21).NextBytes(data);
            var id = new FileIdentity(data.Length, 1);
            using (var up = engine.BeginUpload("f.bin", data.Length, id, "test"))
            {
                up.File.Write(0, data.AsSpan(0, 200_000));
                up.File.Checkpoint();

                // Someone else fills the disk after the free-space check passed.
                FillUp(Path.Combine(mount, "filler"));

                var ex = Assert.Throws<FileEngineException>(() =>
                {
                    for (int off = 200_000; off < data.Length; off += 1400)
                    {
                        up.File.Write(off, data.AsSpan(off, Math.Min(1400, data.Length - off)));
                    }

                    up.File.Checkpoint();
                });
                Assert.Equal(FileErrorCode.NoSpace, ex.Code);
                Assert.Contains("no space", ex.Message, StringComparison.Ordinal);
                Assert.True(up.File.Received.ContainsAll(0, 200_000));
            }

            Assert.True(File.Exists(Path.Combine(mount, "root", ".f.bin.ferry-part")));
            Assert.False(File.Exists(Path.Combine(mount, "root", "f.bin")));

            // Space comes back: the upload resumes from what really reached the disk and completes.
            File.Delete(Path.Combine(mount, "filler"));
            using (var up = engine.BeginUpload("f.bin", data.Length, id, "test"))
            {
                Assert.True(up.File.ResumedBytes >= 200_000);
                foreach (var gap in up.File.Received.Gaps(0, data.Length).ToList())
                {
                    up.File.Write(gap.Start, data.AsSpan((int)gap.Start, (int)gap.Length));
                }

                up.File.Commit(System.Security.Cryptography.SHA256.HashData(data));
            }

            Assert.Equal(data, File.ReadAllBytes(Path.Combine(mount, "root", "f.bin")));
        }
        finally
        {
            TestNative.Run("umount", "-l", mount);
        }
    }

    private static void FillUp(string path)
    {
        using var fs = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, bufferSize: 0);
        var block = new byte[64 * 1024];
        try
        {
            while (true)
            {
                fs.Write(block);
            }
        }
        catch (IOException)
        {
            // Full.
        }
    }
}
