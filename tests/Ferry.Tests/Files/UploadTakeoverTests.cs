using System.Security.Cryptography;
using Ferry.Files;

namespace Ferry.Tests.Files;

/// <summary>
/// The registry's one takeover rule, for every protocol: a running upload is replaced at once by a newcomer with the
/// same upload key, after silence by anyone, and otherwise the newcomer is refused as Busy.
/// </summary>
public class UploadTakeoverTests
{
    private static readonly byte[] s_key = RandomNumberGenerator.GetBytes(UploadRegistry.UploadKeyLength);
    private static readonly FileIdentity s_identity = new(100, 1_700_000_000_000);

    /// <summary>A running upload as a shell registers it: it reports its silence and, when stopped, releases its file.</summary>
    private sealed class FakeShell(IncomingFile upload) : IUploadTakeover
    {
        public TimeSpan Silence { get; set; }

        public bool Stoppable { get; set; } = true;

        public string? StoppedBecause { get; private set; }

        public bool TryStop(string reason)
        {
            if (!Stoppable)
            {
                return false;
            }

            StoppedBecause = reason;
            upload.Dispose();
            return true;
        }
    }

    private static (IncomingFile Upload, FakeShell Shell) Start(EngineFixture fx, byte[]? key, string owner = "udp 127.0.0.1:5555")
    {
        var upload = fx.Engine.BeginUpload("big.bin", 100, s_identity, owner, key);
        var shell = new FakeShell(upload);
        upload.AllowTakeover(shell);
        return (upload, shell);
    }

    [Fact]
    public void Same_upload_key_takes_a_fresh_upload_over_at_once_and_resumes_its_data()
    {
        using var fx = new EngineFixture();
        var (first, shell) = Start(fx, s_key);
        first.File.Write(0, new byte[40]);

        using var second = fx.Engine.BeginUpload("big.bin", 100, s_identity, "udp 127.0.0.1:6666", s_key.ToArray());

        Assert.NotNull(shell.StoppedBecause);
        Assert.Contains("same upload key", second.TookOver, StringComparison.Ordinal);
        Assert.Contains("udp 127.0.0.1:5555", second.TookOver, StringComparison.Ordinal);
        Assert.Equal(40, second.File.ResumedBytes);
        Assert.Equal(1, fx.Engine.Registry.Count);
    }

    [Fact]
    public void Another_upload_key_is_refused_while_the_upload_is_fresh()
    {
        using var fx = new EngineFixture();
        var (first, shell) = Start(fx, s_key);
        using var _ = first;
        var otherKey = RandomNumberGenerator.GetBytes(UploadRegistry.UploadKeyLength);

        var ex = Assert.Throws<FileEngineException>(() => fx.Engine.BeginUpload("big.bin", 100, s_identity, "udp 127.0.0.1:6666", otherKey));

        Assert.Equal(FileErrorCode.Busy, ex.Code);
        Assert.Contains("udp 127.0.0.1:5555", ex.Message, StringComparison.Ordinal);
        Assert.Null(shell.StoppedBecause);
    }

    [Fact]
    public void No_upload_key_is_refused_while_the_upload_is_fresh()
    {
        using var fx = new EngineFixture();
        var (first, shell) = Start(fx, s_key);
        using var _ = first;
        shell.Silence = UploadRegistry.DefaultStaleAfter - TimeSpan.FromMilliseconds(1);

        var ex = Assert.Throws<FileEngineException>(() => fx.Engine.BeginUpload("big.bin", 100, s_identity, "tcp 127.0.0.1:6666"));

        Assert.Equal(FileErrorCode.Busy, ex.Code);
        Assert.Null(shell.StoppedBecause);
    }

    [Fact]
    public void A_key_does_not_match_an_upload_that_was_started_without_one()
    {
        using var fx = new EngineFixture();
        var (first, shell) = Start(fx, key: null);
        using var _ = first;

        Assert.Throws<FileEngineException>(() => fx.Engine.BeginUpload("big.bin", 100, s_identity, "udp 127.0.0.1:6666", s_key));
        Assert.Null(shell.StoppedBecause);
    }

    [Fact]
    public void Anyone_takes_over_an_upload_whose_client_went_silent()
    {
        using var fx = new EngineFixture();
        var (_, shell) = Start(fx, s_key);
        shell.Silence = UploadRegistry.DefaultStaleAfter;

        using var second = fx.Engine.BeginUpload("big.bin", 100, s_identity, "tcp 127.0.0.1:6666");

        Assert.NotNull(shell.StoppedBecause);
        Assert.Contains("silent", second.TookOver, StringComparison.Ordinal);
    }

    [Fact]
    public void An_upload_that_cannot_be_stopped_stays_busy_even_for_its_own_key()
    {
        using var fx = new EngineFixture();
        var (first, shell) = Start(fx, s_key);
        using var _ = first;
        shell.Stoppable = false; // committing, or owned by a thread the caller may not touch

        var ex = Assert.Throws<FileEngineException>(() => fx.Engine.BeginUpload("big.bin", 100, s_identity, "udp 127.0.0.1:6666", s_key));
        Assert.Equal(FileErrorCode.Busy, ex.Code);
    }

    [Fact]
    public void An_upload_whose_shell_allows_no_takeover_is_never_taken_over()
    {
        using var fx = new EngineFixture();
        using var first = fx.Engine.BeginUpload("big.bin", 100, s_identity, "zmq peer", s_key);

        var ex = Assert.Throws<FileEngineException>(() => fx.Engine.BeginUpload("big.bin", 100, s_identity, "udp 127.0.0.1:6666", s_key));
        Assert.Equal(FileErrorCode.Busy, ex.Code);
    }
}
