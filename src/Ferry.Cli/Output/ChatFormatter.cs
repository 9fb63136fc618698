using System.Globalization;
using System.Text;
using System.Text.Json;
using Ferry.Protocol.Relay;

namespace Ferry.Cli.Output;

/// <summary>How <c>ferry chat</c> prints a message: one line of text, or one NDJSON object with --json.</summary>
internal static class ChatFormatter
{
    public static string Plain(RelayMessage m, bool localTime)
    {
        var time = DateTimeOffset.FromUnixTimeMilliseconds(m.TimestampMs);
        string when = localTime
            ? time.ToLocalTime().ToString("HH:mm:ss", CultureInfo.InvariantCulture)
            : time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);
        return $"{when} #{m.Seq} {Sanitize(m.Author)}: {Sanitize(m.Text)}";
    }

    public static string Json(RelayMessage m)
        => JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["seq"] = m.Seq,
            ["time"] = DateTimeOffset.FromUnixTimeMilliseconds(m.TimestampMs).UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture),
            ["user"] = m.Author,
            ["text"] = m.Text,
        });

    /// <summary>Replaces control characters so a writer cannot move a reader's cursor or change its terminal.</summary>
    public static string Sanitize(string text)
    {
        bool clean = true;
        foreach (char c in text)
        {
            if (char.IsControl(c))
            {
                clean = false;
                break;
            }
        }

        if (clean)
        {
            return text;
        }

        var sb = new StringBuilder(text.Length);
        foreach (char c in text)
        {
            sb.Append(char.IsControl(c) ? '\uFFFD' : c);
        }

        return sb.ToString();
    }
}
