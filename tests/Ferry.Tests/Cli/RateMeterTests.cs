using Ferry.Cli.Output;
using Ferry.Transfers;
using Xunit;

namespace Ferry.Tests.Cli;

/// <summary>The rate counts only bytes moved in this run: a resumed prefix is not a burst of speed.</summary>
public sealed class RateMeterTests
{
    private const long MiB = 1 << 20;

    [Fact]
    public void A_resumed_prefix_does_not_count_as_moved()
    {
        var meter = new RateMeter(TimeSpan.FromSeconds(5));
        meter.Add(TimeSpan.Zero, 0, 0);

        // The server says it already has 150 MiB; then 10 MiB travel in one second.
        meter.Add(TimeSpan.FromSeconds(0.1), 150 * MiB, 150 * MiB);
        Assert.Equal(0, meter.BytesPerSecond);
        meter.Add(TimeSpan.FromSeconds(1.1), 160 * MiB, 150 * MiB);
        Assert.Equal(10 * MiB / 1.1, meter.BytesPerSecond, 3);
    }

    [Fact]
    public void The_rate_follows_the_last_window()
    {
        var meter = new RateMeter(TimeSpan.FromSeconds(5));
        long done = 0;
        for (int tenth = 0; tenth <= 200; tenth++)
        {
            meter.Add(TimeSpan.FromSeconds(tenth / 10.0), done, 0);
            done += tenth < 100 ? 100_000 : 200_000; // 1 MB/s for 10 s, then 2 MB/s
        }

        Assert.Equal(2_000_000, meter.BytesPerSecond, 3);
    }

    [Fact]
    public void The_average_of_a_resumed_run_counts_only_this_run()
    {
        Assert.Equal(10 * MiB, RateMeter.Average(200 * MiB, 150 * MiB, TimeSpan.FromSeconds(5)), 3);
        Assert.Equal(40 * MiB, RateMeter.Average(200 * MiB, 0, TimeSpan.FromSeconds(5)), 3);
    }

    [Fact]
    public void The_summary_line_states_sizes_in_binary_units_and_the_rate_of_this_run_in_bits()
    {
        var result = new TransferResult(200 * MiB, TimeSpan.FromSeconds(5), "ab") { ResumedBytes = 150 * MiB };
        Assert.Equal("done: 200.0 MiB (209715200 bytes, 150.0 MiB resumed) in 5.00 s (83.9 Mbit/s), sha256 ab", ProgressReporter.SummaryLine(result));
    }

    [Fact]
    public async Task The_json_rate_leaves_out_the_resumed_prefix()
    {
        var output = new StringWriter();
        var reporter = new ProgressReporter(json: true, quiet: false, () => output);
        await reporter.RunAsync("get x", "udp://h/x", p =>
        {
            p.Report(new TransferProgress(150 * MiB, 200 * MiB, 150 * MiB));
            return Task.FromResult(new TransferResult(200 * MiB, TimeSpan.FromSeconds(1), "00"));
        });
        Assert.Contains("\"rate_bps\":0}", output.ToString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0, "0 B")]
    [InlineData(1023, "1023 B")]
    [InlineData(1024, "1.0 KiB")]
    [InlineData(1536, "1.5 KiB")]
    [InlineData(200 * MiB, "200.0 MiB")]
    [InlineData(4096 * MiB, "4.0 GiB")]
    public void Sizes_are_binary(long bytes, string text) => Assert.Equal(text, Units.Size(bytes));

    [Theory]
    [InlineData(100, "800 bit/s")]
    [InlineData(101_500, "812.0 kbit/s")]
    [InlineData(11_725_000, "93.8 Mbit/s")]
    [InlineData(620_000_000, "4.96 Gbit/s")]
    public void Rates_are_decimal_bits_per_second(double bytesPerSecond, string text) => Assert.Equal(text, Units.Rate(bytesPerSecond));
}
