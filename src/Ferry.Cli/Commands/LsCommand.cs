using System.CommandLine;
using System.Globalization;
using System.Text;
using Ferry.Cli.Output;
using Ferry.Protocol.Listing;
using Ferry.Transfers;

namespace Ferry.Cli.Commands;

/// <summary><c>ferry ls URL</c>: a remote listing over udp:// or tcp://.</summary>
internal static class LsCommand
{
    public static Command Create()
    {
        var url = new Argument<string>("url") { Description = "Remote directory or file, e.g. udp://host:7700/dir/ (udp://host:7700/ lists the server root)" };
        var longFormat = new Option<bool>("--long", "-l") { Description = "Long format: type and mode (drwxr-xr-x), size in bytes, modification time (ISO-8601 UTC), name" };
        var recursive = new Option<bool>("--recursive", "-R") { Description = "List every level below the directory (symbolic links are listed, never followed)" };
        var json = new Option<bool>("--json") { Description = "Print one NDJSON object per entry ({\"event\":\"entry\",\"path\",\"type\",\"size\",\"mtime_ms\",\"mode\"}), then {\"event\":\"done\",\"entries\":N}" };
        var cmd = new Command("ls", "List a remote directory or file (udp://, tcp://): names, directories ending in '/'; exit codes as for get (3: not found or refused)")
        {
            url, longFormat, recursive, json,
        };
        TransferCommands.AddConnectionOptions(cmd);
        cmd.SetAction((parse, ct) => RunAsync(parse.GetValue(url)!, parse, parse.GetValue(longFormat), parse.GetValue(recursive), parse.GetValue(json), ct));
        return cmd;
    }

    private static async Task<int> RunAsync(string url, ParseResult parse, bool longFormat, bool recursive, bool json, CancellationToken ct)
    {
        var reporter = new ProgressReporter(json, quiet: false, static () => Console.Out);
        try
        {
            var remote = TransferClients.ParseUrl(url);
            var client = TransferClients.For(remote);
            var options = TransferCommands.BuildOptions(parse, reporter.Notice);
            var entries = await client.ListAsync(remote, recursive, options, ct).ConfigureAwait(false);
            var output = Console.Out;
            foreach (string line in Format(entries, longFormat, json))
            {
                output.WriteLine(line);
            }

            if (json)
            {
                output.WriteLine(JsonLine.Format([new("event", "done"), new("entries", entries.Count)]));
            }

            return (int)ExitCode.Ok;
        }
        catch (TransferException e)
        {
            reporter.Error(e.Code, e.Message);
            return (int)e.Code;
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            reporter.Error(ExitCode.Interrupted, "interrupted");
            return (int)ExitCode.Interrupted;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            reporter.Error(ExitCode.LocalIo, e.Message);
            return (int)ExitCode.LocalIo;
        }
    }

    /// <summary>The lines to print: names (directories with a trailing '/'), long lines, or NDJSON entries.</summary>
    internal static IEnumerable<string> Format(IReadOnlyList<ListingEntry> entries, bool longFormat, bool json)
    {
        int sizeWidth = entries.Count == 0 ? 1 : entries.Max(e => e.Size.ToString(CultureInfo.InvariantCulture).Length);
        foreach (var e in entries)
        {
            if (json)
            {
                // JSON escapes control characters itself: the name is passed as it is.
                yield return JsonLine.Format(
                [
                    new("event", "entry"), new("path", e.Name), new("type", TypeName(e.Type)), new("size", e.Size),
                    new("mtime_ms", e.MtimeUnixMs), new("mode", "0" + Convert.ToString(e.Mode, 8).PadLeft(3, '0')),
                ]);
            }
            else if (longFormat)
            {
                yield return $"{ModeString(e)}  {e.Size.ToString(CultureInfo.InvariantCulture).PadLeft(sizeWidth)}  {Mtime(e.MtimeUnixMs)}  {SafeName(e.Name)}{(e.Type == ListingEntryType.Directory ? "/" : string.Empty)}";
            }
            else
            {
                yield return SafeName(e.Name) + (e.Type == ListingEntryType.Directory ? "/" : string.Empty);
            }
        }
    }

    internal static string TypeName(ListingEntryType type) => type switch
    {
        ListingEntryType.File => "file",
        ListingEntryType.Directory => "directory",
        ListingEntryType.Symlink => "symlink",
        _ => "other",
    };

    /// <summary>"drwxr-xr-x" as ls writes it ('l' for a symlink, '?' for any other special file).</summary>
    internal static string ModeString(ListingEntry e)
    {
        var sb = new StringBuilder(10);
        sb.Append(e.Type switch { ListingEntryType.Directory => 'd', ListingEntryType.Symlink => 'l', ListingEntryType.Other => '?', _ => '-' });
        for (int shift = 6; shift >= 0; shift -= 3)
        {
            int bits = (e.Mode >> shift) & 7;
            sb.Append((bits & 4) != 0 ? 'r' : '-').Append((bits & 2) != 0 ? 'w' : '-').Append((bits & 1) != 0 ? 'x' : '-');
        }

        return sb.ToString();
    }

    private static string Mtime(long unixMs) =>
        DateTimeOffset.FromUnixTimeMilliseconds(Math.Clamp(unixMs, -62135596800000L, 253402300799999L)).UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    /// <summary>A name a terminal cannot be steered by: control characters escaped.</summary>
    private static string SafeName(string name) => ChatFormatter.Sanitize(name);
}
