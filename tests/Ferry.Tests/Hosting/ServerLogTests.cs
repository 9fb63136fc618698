using System.Text.Json;
using Ferry.Hosting;
using Microsoft.Extensions.Time.Testing;
using Xunit;

namespace Ferry.Tests.Hosting;

public sealed class ServerLogTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("ferry-log-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private (ServerContext Context, StringWriter Log) Create(ServerLogFormat format, bool verbose)
    {
        var log = new StringWriter();
        var options = new ServerOptions
        {
            Root = Path.Combine(_dir, "root"),
            StateDir = Path.Combine(_dir, "state"),
            Time = new FakeTimeProvider(new DateTimeOffset(2026, 12, 8, 10, 0, 0, 123, TimeSpan.Zero)),
            LogFormat = format,
            Verbose = verbose,
        };
        Directory.CreateDirectory(options.Root);
        Directory.CreateDirectory(options.StateDir);
        return (new ServerContext(options, log), log);
    }

    [Fact]
    public void Text_lines_carry_the_stamp_the_protocol_and_the_message()
    {
        var (context, log) = Create(ServerLogFormat.Text, verbose: false);
        var request = new TransferRequest("udp", "127.0.0.1:5000", TransferOperation.Put, "a/b.txt", Token: null);
        context.Transfers.Started(request, 6);
        context.Transfers.Done(request, "stored");
        context.Warn("serve", "no access token is configured");
        Assert.Equal(
            [
                "2026-12-08T10:00:00.123Z udp   127.0.0.1:5000 PUT a/b.txt (6 bytes)",
                "2026-12-08T10:00:00.123Z udp   127.0.0.1:5000 PUT a/b.txt done: stored",
                "2026-12-08T10:00:00.123Z serve WARNING: no access token is configured",
            ],
            log.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }

    [Fact]
    public void Json_lines_carry_the_event_its_id_level_and_fields()
    {
        var (context, log) = Create(ServerLogFormat.Json, verbose: false);
        var request = new TransferRequest("tcp", "[::1]:4000", TransferOperation.Get, "it's+x.iso");
        context.Transfers.Refused(request, "'it's+x.iso' not found");
        using var doc = JsonDocument.Parse(log.ToString());
        var e = doc.RootElement;
        Assert.Equal("2026-12-08T10:00:00.123Z", e.GetProperty("time").GetString());
        Assert.Equal("info", e.GetProperty("level").GetString());
        Assert.Equal("tcp", e.GetProperty("protocol").GetString());
        Assert.Equal("TransferRefused", e.GetProperty("event").GetString());
        Assert.Equal(13, e.GetProperty("event_id").GetInt32());
        Assert.Equal("[::1]:4000", e.GetProperty("peer").GetString());
        Assert.Equal("GET", e.GetProperty("op").GetString());
        Assert.Equal("it's+x.iso", e.GetProperty("path").GetString());
        Assert.Equal("[::1]:4000 GET it's+x.iso refused: 'it's+x.iso' not found", e.GetProperty("message").GetString());
        // Readable: quotes and '+' are not escaped.
        Assert.Contains("it's+x.iso", log.ToString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Details_are_logged_only_when_verbose(bool verbose)
    {
        var (context, log) = Create(ServerLogFormat.Json, verbose);
        var request = new TransferRequest("udp", "127.0.0.1:5000", TransferOperation.Get, "f");
        Assert.Null(context.Transfers.Authorize(request));
        string[] lines = log.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        if (!verbose)
        {
            Assert.Empty(lines);
            return;
        }

        using var doc = JsonDocument.Parse(Assert.Single(lines));
        Assert.Equal("debug", doc.RootElement.GetProperty("level").GetString());
        Assert.Equal("TransferAuthorized", doc.RootElement.GetProperty("event").GetString());
        Assert.Equal(16, doc.RootElement.GetProperty("event_id").GetInt32());
    }
}
