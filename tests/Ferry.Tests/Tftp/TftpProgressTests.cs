using Ferry.Tests.Support;
using Ferry.Tftp;
using Ferry.Transfers;
using Microsoft.Extensions.Time.Testing;
using Xunit;

namespace Ferry.Tests.Tftp;

/// <summary>tftp:// reports progress while blocks move, with the size from the tsize option as the total.</summary>
public sealed class TftpProgressTests
{
    private const int Size = 2 << 20;
    private static readonly TimeSpan s_limit = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task A_download_reports_growing_bytes_of_the_announced_size()
    {
        await using var server = new TftpServerFixture();
        server.CreateFile("src.bin", Size);
        var progress = new ListProgress();
        await new TftpClient(StepClock()).GetAsync(server.Url("src.bin"), server.Local("down.bin"), new ClientOptions { BlockSize = 512 }, progress, CancellationToken.None)
            .WaitAsync(s_limit);
        AssertGrowing(progress.Reports);
    }

    [Fact]
    public async Task An_upload_reports_growing_bytes_of_the_file_size()
    {
        await using var server = new TftpServerFixture(allowWrite: true);
        server.CreateFile("src.bin", Size);
        var progress = new ListProgress();
        await new TftpClient(StepClock()).SendAsync(Path.Combine(server.Root, "src.bin"), server.Url("up.bin"), new ClientOptions { BlockSize = 512 }, progress, CancellationToken.None)
            .WaitAsync(s_limit);
        AssertGrowing(progress.Reports);
    }

    [Fact]
    public async Task Ferry_cli_json_shows_progress_before_the_end()
    {
        await using var server = new TftpServerFixture(allowWrite: true);
        server.CreateFile("src.bin", Size);
        using var process = new FerryProcess("send", Path.Combine(server.Root, "src.bin"), server.Url("up.bin").ToString(), "--json", "--blksize", "512");
        Assert.Equal(0, await process.WaitExitAsync(s_limit));
        var progress = process.Events.Where(e => e.GetProperty("event").GetString() == "progress").ToList();
        Assert.NotEmpty(progress);
        Assert.All(progress, e => Assert.Equal(Size, e.GetProperty("total").GetInt64()));
        var bytes = progress.Select(e => e.GetProperty("bytes").GetInt64()).ToList();
        Assert.Equal(bytes.Order(), bytes);
        Assert.True(bytes[0] < Size, $"first progress event at {bytes[0]} of {Size} bytes");
        Assert.Equal(Size, process.Events.Single(e => e.GetProperty("event").GetString() == "done").GetProperty("bytes").GetInt64());
    }

    private static void AssertGrowing(IReadOnlyList<TransferProgress> all)
    {
        // The first report says the client is waiting for the server's first answer; the transfer's own follow it.
        Assert.NotNull(all[0].ConnectingTo);
        var reports = all.Where(r => r.ConnectingTo is null).ToList();
        // The step clock moves 1 ms per reading, so the 100 ms throttle lets through one report every few dozen blocks.
        Assert.True(reports.Count >= 5, $"{reports.Count} reports");
        Assert.All(reports, r => Assert.Equal(Size, r.TotalBytes));
        for (int i = 1; i < reports.Count; i++)
        {
            Assert.True(reports[i].BytesDone >= reports[i - 1].BytesDone, $"report {i} went back: {reports[i - 1].BytesDone} -> {reports[i].BytesDone}");
        }

        Assert.Contains(reports, r => r.BytesDone > 0 && r.BytesDone < Size);
        Assert.Equal(Size, reports[^1].BytesDone);
    }

    /// <summary>A clock that advances 1 ms each time it is read: the client's throttle sees time pass without any waiting.</summary>
    private static FakeTimeProvider StepClock() => new() { AutoAdvanceAmount = TimeSpan.FromMilliseconds(1) };

    private sealed class ListProgress : IProgress<TransferProgress>
    {
        private readonly List<TransferProgress> _reports = new();

        public IReadOnlyList<TransferProgress> Reports
        {
            get
            {
                lock (_reports)
                {
                    return _reports.ToList();
                }
            }
        }

        public void Report(TransferProgress value)
        {
            lock (_reports)
            {
                _reports.Add(value);
            }
        }
    }
}
