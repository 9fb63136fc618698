using Ferry.Cli.Commands;
using Ferry.Files;
using Ferry.Tests.Files;

namespace Ferry.Tests.Hosting;

/// <summary>The free space an upload must leave: proportional by default, set with <c>ferry serve --reserve</c>.</summary>
public sealed class ReserveTests
{
    [Theory]
    [InlineData("0", 0L)]
    [InlineData("4096", 4096L)]
    [InlineData("512K", 512L << 10)]
    [InlineData("64M", 64L << 20)]
    [InlineData("64MiB", 64L << 20)]
    [InlineData("2g", 2L << 30)]
    [InlineData("1T", 1L << 40)]
    public void Size_Parses(string text, long expected)
    {
        Assert.True(ServeCommand.TryParseSize(text, out long bytes));
        Assert.Equal(expected, bytes);
    }

    [Theory]
    [InlineData("")]
    [InlineData("M")]
    [InlineData("-1")]
    [InlineData("1.5G")]
    [InlineData("10X")]
    [InlineData("99999999999T")]
    public void Size_BadText_Refused(string text) => Assert.False(ServeCommand.TryParseSize(text, out _));

    [Theory]
    [InlineData(10L << 20, 104_857L)]             // a 10 MiB disk keeps 1%
    [InlineData(1L << 30, 10_737_418L)]           // 1 GiB: 1%
    [InlineData(1L << 40, 64L << 20)]             // 1 TiB: capped at 64 MiB
    public void DefaultMargin_IsOnePercentAtMost64MiB(long total, long margin) =>
        Assert.Equal(margin, new FileEngineOptions { Root = "r", StateDir = "s" }.MarginFor(total));

    [Fact]
    public void ExplicitMargin_IsUsedAsGiven() =>
        Assert.Equal(5, new FileEngineOptions { Root = "r", StateDir = "s", FreeSpaceMargin = 5 }.MarginFor(1L << 40));

    [TmpfsFact]
    public void TinyUpload_OnSmallFilesystem_AcceptedByDefault_RefusedWithHintWhenReserveTooBig()
    {
        using var dir = new TempDir();
        string mount = dir.Combine("small");
        Directory.CreateDirectory(mount);
        Assert.Equal(0, TestNative.Run("mount", "-t", "tmpfs", "-o", "size=12m", "tmpfs", mount));
        try
        {
            var engine = new FileEngine(new FileEngineOptions { Root = Path.Combine(mount, "root"), StateDir = dir.Combine("state") });
            byte[] data = "hello\n"u8.ToArray();
            using (var up = engine.BeginUpload("boot.cfg", data.Length, new FileIdentity(data.Length, 1), "test"))
            {
                up.File.Write(0, data);
                up.File.Commit(System.Security.Cryptography.SHA256.HashData(data));
            }

            Assert.Equal(data, File.ReadAllBytes(Path.Combine(mount, "root", "boot.cfg")));

            var strict = new FileEngine(new FileEngineOptions { Root = Path.Combine(mount, "root"), StateDir = dir.Combine("state"), FreeSpaceMargin = 64L << 20 });
            var ex = Assert.Throws<FileEngineException>(() => strict.BeginUpload("b.cfg", data.Length, null, "test"));
            Assert.Equal(FileErrorCode.NoSpace, ex.Code);
            Assert.Contains("ferry serve --reserve SIZE", ex.Message, StringComparison.Ordinal);
        }
        finally
        {
            TestNative.Run("umount", "-l", mount);
        }
    }
}
