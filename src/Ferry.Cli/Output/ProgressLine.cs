using System.Globalization;
using System.Text;

namespace Ferry.Cli.Output;

/// <summary>What the progress line shows at one moment.</summary>
/// <param name="Name">What is being transferred ("get udp://host/file"); shortened with an ellipsis to fit.</param>
/// <param name="BytesDone">Bytes at the receiver, resumed ones included.</param>
/// <param name="TotalBytes">The file's size; -1 while unknown (the bar then only shows that bytes are moving).</param>
/// <param name="BytesPerSecond">Rate of this run (see <see cref="RateMeter"/>).</param>
/// <param name="Elapsed">Time since the transfer started (animates the bar while the size is unknown).</param>
/// <param name="Status">When set, shown instead of the bar and the counters (e.g. "connecting to host:7700…").</param>
/// <param name="Counter">A count shown right after the percentage, kept longest of the counters ("3/10 files" for a job).</param>
internal readonly record struct ProgressView(string Name, long BytesDone, long TotalBytes, double BytesPerSecond, TimeSpan Elapsed, string? Status = null, string? Counter = null);

/// <summary>
/// Lays out the one-line progress display for a terminal <c>width</c> columns wide: a pure function, so every width
/// is testable. Fields are dropped as the terminal narrows, least useful first: the name (then shortened), ETA,
/// rate, byte counts; the percentage and the bar stay to the last. The line never exceeds the width.
/// </summary>
internal static class ProgressLine
{
    private const int MinBar = 12;      // bar cells, brackets excluded
    private const int MaxBar = 50;
    private const int MinName = 12;     // a shorter name says nothing: drop it instead
    private const string Gap = "  ";

    public static string Render(int width, ProgressView view)
    {
        if (width <= 0)
        {
            return string.Empty;
        }

        string name = ChatFormatter.Sanitize(view.Name);
        if (view.Status is { } status)
        {
            return RenderStatus(width, name, ChatFormatter.Sanitize(status));
        }

        bool known = view.TotalBytes >= 0;
        long done = Math.Max(0, view.BytesDone);

        // Fields right of the bar, most useful first: each is kept only if the bar still gets its minimum.
        var fields = new List<string>(4);
        string first;
        string[] optional;
        if (known)
        {
            long total = view.TotalBytes;
            int percent = total == 0 ? 100 : (int)Math.Floor(Math.Min(1.0, (double)done / total) * 100);
            first = string.Create(CultureInfo.InvariantCulture, $"{percent,3}%");
            optional =
            [
                Units.SizeOf(done, total).PadLeft(Units.SizeOf(total, total).Length),
                Units.Rate(view.BytesPerSecond).PadLeft(12),
                Eta(done, total, view.BytesPerSecond).PadLeft(9),
            ];
            if (view.Counter is { } counter)
            {
                optional = [counter, .. optional];
            }
        }
        else
        {
            first = Units.Size(done);
            optional = [Units.Rate(view.BytesPerSecond).PadLeft(12)];
        }

        if (first.Length > width)
        {
            return first[..width];
        }

        fields.Add(first);
        int used = first.Length;
        foreach (string f in optional)
        {
            if (used + Gap.Length + f.Length + 1 + MinBar + 2 > width)
            {
                break;
            }

            fields.Add(f);
            used += Gap.Length + f.Length;
        }

        // What is left holds the bar (with its brackets and a space) and, if it fits, the name and a gap.
        int room = width - used - 1 - 2;
        if (room < 1)
        {
            return string.Join(Gap, fields);
        }

        // The bar keeps two fifths of the room (at least its minimum, at most its maximum); the name gets the rest.
        int barReserve = Math.Max(MinBar, Math.Min(MaxBar, room * 2 / 5));
        int nameWidth = room - barReserve - Gap.Length >= MinName ? Math.Min(DisplayWidth(name), room - barReserve - Gap.Length) : 0;
        int bar = Math.Min(MaxBar, room - (nameWidth > 0 ? nameWidth + Gap.Length : 0));

        var line = new StringBuilder(width);
        if (nameWidth > 0)
        {
            line.Append(Shorten(name, nameWidth)).Append(Gap);
        }

        line.Append('[').Append(known ? Bar(bar, done, view.TotalBytes) : Bouncer(bar, view.Elapsed)).Append("] ");
        line.Append(string.Join(Gap, fields));
        return line.ToString();
    }

    /// <summary>Columns <paramref name="text"/> takes on a terminal: East Asian wide characters and emoji take two.</summary>
    public static int DisplayWidth(string text)
    {
        int cols = 0;
        for (int i = 0; i < text.Length; i++)
        {
            cols += CharWidth(text, ref i);
        }

        return cols;
    }

    /// <summary>
    /// Cuts <paramref name="text"/> to at most <paramref name="cols"/> columns with an ellipsis in the middle: the start
    /// ("get udp://") and the end (the file name) are what tell transfers apart.
    /// </summary>
    public static string Shorten(string text, int cols)
    {
        if (DisplayWidth(text) <= cols)
        {
            return text;
        }

        if (cols <= 1)
        {
            return cols == 1 ? "…" : string.Empty;
        }

        // The file name whole if it leaves room for a start; otherwise a third for the start, the rest for the end.
        int slash = text.LastIndexOf('/');
        int fileCols = slash >= 0 ? DisplayWidth(text[slash..]) : int.MaxValue;
        int tailCols = fileCols <= (cols - 1) * 2 / 3 ? fileCols : cols - 1 - ((cols - 1) / 3);
        int headCols = cols - 1 - tailCols;
        string head = TakeCols(text, headCols);
        string tail = TakeColsFromEnd(text, tailCols);
        return head + "…" + tail;
    }

    private static string RenderStatus(int width, string name, string status)
    {
        int statusCols = DisplayWidth(status);
        if (statusCols > width)
        {
            return TakeCols(status, width - 1) + "…";
        }

        int nameRoom = width - statusCols - Gap.Length;
        if (name.Length == 0 || nameRoom < MinName)
        {
            return status;
        }

        return Shorten(name, nameRoom) + Gap + status;
    }

    private static string Eta(long done, long total, double bytesPerSecond)
    {
        if (done >= total)
        {
            return "ETA 0:00";
        }

        return bytesPerSecond <= 0 ? "ETA -:--" : "ETA " + Units.Duration(TimeSpan.FromSeconds(Math.Min((total - done) / bytesPerSecond, 1e7)));
    }

    private static string Bar(int cells, long done, long total)
    {
        int full = total <= 0 ? cells : (int)Math.Floor(Math.Min(1.0, (double)done / total) * cells);
        return new string('#', full) + new string('-', cells - full);
    }

    /// <summary>A block that sweeps back and forth while the size is unknown, one cell per 100 ms.</summary>
    private static string Bouncer(int cells, TimeSpan elapsed)
    {
        const int block = 3;
        if (cells <= block)
        {
            return new string('=', cells);
        }

        int span = cells - block;
        int step = (int)(elapsed.Ticks / TimeSpan.TicksPerMillisecond / 100 % (2 * span));
        int at = step <= span ? step : (2 * span) - step;
        return new string(' ', at) + new string('=', block) + new string(' ', span - at);
    }

    private static string TakeCols(string text, int cols)
    {
        int taken = 0;
        int i = 0;
        while (i < text.Length)
        {
            int j = i;
            int w = CharWidth(text, ref j);
            if (taken + w > cols)
            {
                break;
            }

            taken += w;
            i = j + 1;
        }

        return text[..i];
    }

    private static string TakeColsFromEnd(string text, int cols)
    {
        int taken = 0;
        int start = text.Length;
        while (start > 0)
        {
            int begin = start - 1;
            if (begin > 0 && char.IsLowSurrogate(text[begin]) && char.IsHighSurrogate(text[begin - 1]))
            {
                begin--;
            }

            int j = begin;
            int w = CharWidth(text, ref j);
            if (taken + w > cols)
            {
                break;
            }

            taken += w;
            start = begin;
        }

        return text[start..];
    }

    /// <summary>Width of the character at <paramref name="i"/>; a surrogate pair advances <paramref name="i"/> past its low half.</summary>
    private static int CharWidth(string text, ref int i)
    {
        char c = text[i];
        if (char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
        {
            i++;
            return 2; // astral planes: emoji and CJK extensions, wide on every common terminal
        }

        return c is (>= '\u1100' and <= '\u115F') or (>= '\u2E80' and <= '\uA4CF') or (>= '\uAC00' and <= '\uD7A3')
            or (>= '\uF900' and <= '\uFAFF') or (>= '\uFE30' and <= '\uFE4F') or (>= '\uFF00' and <= '\uFF60') or (>= '\uFFE0' and <= '\uFFE6')
            ? 2
            : 1;
    }
}
