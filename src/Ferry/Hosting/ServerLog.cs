using System.Text.Json;
using Ferry.Timing;
using Microsoft.Extensions.Logging;

namespace Ferry.Hosting;

/// <summary>How <c>ferry serve</c> writes its log: one line per event, for people or for log collectors.</summary>
public enum ServerLogFormat
{
    /// <summary><c>2026-12-08T10:00:00.000Z udp   127.0.0.1:5000 GET a.iso (…)</c></summary>
    Text,

    /// <summary>One JSON object per line: time, level, protocol, event name and id, the event's fields, message.</summary>
    Json,
}

/// <summary>
/// The server's <see cref="ILogger"/>s, one per protocol (the category), all writing to one <see cref="TextWriter"/>
/// with the server's clock. Events are declared once in <see cref="ServerLogEvents"/> with their ids and levels.
/// </summary>
public sealed class ServerLog
{
    // Quotes, '+' and non-ASCII letters stay readable; control characters are still escaped.
    private static readonly JsonWriterOptions s_jsonOptions = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private readonly TextWriter _writer;
    private readonly ShellClock _clock;
    private readonly Dictionary<string, ILogger> _loggers = new(StringComparer.Ordinal);

    public ServerLog(TextWriter writer, ShellClock clock, ServerLogFormat format, LogLevel minimum)
    {
        _writer = writer;
        _clock = clock;
        Format = format;
        Minimum = minimum;
    }

    public ServerLogFormat Format { get; }

    /// <summary>Events below this level are not written (<c>-v</c> on <c>ferry serve</c>: <see cref="LogLevel.Debug"/>).</summary>
    public LogLevel Minimum { get; }

    /// <summary>The logger of one protocol ("udp", "tcp", "serve", …).</summary>
    public ILogger For(string protocol)
    {
        lock (_loggers)
        {
            if (!_loggers.TryGetValue(protocol, out var logger))
            {
                logger = new ProtocolLogger(this, protocol);
                _loggers[protocol] = logger;
            }

            return logger;
        }
    }

    private void Write<TState>(string protocol, LogLevel level, EventId id, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        string message = formatter(state, exception);
        DateTimeOffset now = _clock.UtcNow;
        string line;
        if (Format == ServerLogFormat.Text)
        {
            string marker = level switch
            {
                >= LogLevel.Error => "ERROR: ",
                LogLevel.Warning => "WARNING: ",
                LogLevel.Debug or LogLevel.Trace => "debug: ",
                _ => string.Empty,
            };
            line = $"{now.UtcDateTime:yyyy-MM-ddTHH:mm:ss.fffZ} {protocol,-5} {marker}{message}";
        }
        else
        {
            var buffer = new System.Buffers.ArrayBufferWriter<byte>(256);
            using (var json = new Utf8JsonWriter(buffer, s_jsonOptions))
            {
                json.WriteStartObject();
                json.WriteString("time", now.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", System.Globalization.CultureInfo.InvariantCulture));
                json.WriteString("level", LevelName(level));
                json.WriteString("protocol", protocol);
                json.WriteString("event", id.Name ?? id.Id.ToString(System.Globalization.CultureInfo.InvariantCulture));
                json.WriteNumber("event_id", id.Id);
                if (state is IReadOnlyList<KeyValuePair<string, object?>> fields)
                {
                    foreach (var (key, value) in fields)
                    {
                        if (key != "{OriginalFormat}" && key != "Message")
                        {
                            WriteField(json, SnakeCase(key), value);
                        }
                    }
                }

                json.WriteString("message", message);
                if (exception is not null)
                {
                    json.WriteString("exception", exception.ToString());
                }

                json.WriteEndObject();
            }

            line = System.Text.Encoding.UTF8.GetString(buffer.WrittenSpan);
        }

        lock (_writer)
        {
            _writer.WriteLine(line);
        }
    }

    private static void WriteField(Utf8JsonWriter json, string name, object? value)
    {
        switch (value)
        {
            case null:
                json.WriteNull(name);
                break;
            case long or int or short or ushort or uint or byte:
                json.WriteNumber(name, Convert.ToInt64(value, System.Globalization.CultureInfo.InvariantCulture));
                break;
            case bool b:
                json.WriteBoolean(name, b);
                break;
            default:
                json.WriteString(name, Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture));
                break;
        }
    }

    private static string LevelName(LogLevel level) => level switch
    {
        LogLevel.Trace => "trace",
        LogLevel.Debug => "debug",
        LogLevel.Information => "info",
        LogLevel.Warning => "warning",
        LogLevel.Error => "error",
        _ => "critical",
    };

    private static string SnakeCase(string name)
    {
        var sb = new System.Text.StringBuilder(name.Length + 4);
        for (int i = 0; i < name.Length; i++)
        {
            char c = name[i];
            if (char.IsUpper(c))
            {
                if (i > 0)
                {
                    sb.Append('_');
                }

                sb.Append(char.ToLowerInvariant(c));
            }
            else
            {
                sb.Append(c);
            }
        }

        return sb.ToString();
    }

    private sealed class ProtocolLogger(ServerLog log, string protocol) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None && logLevel >= log.Minimum;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (IsEnabled(logLevel))
            {
                log.Write(protocol, logLevel, eventId, state, exception, formatter);
            }
        }
    }
}

/// <summary>
/// Every event the server logs, with its id and level (ids are stable: log collectors may match on them).
/// 1-9: the server itself; 10-29: transfers (every protocol, through <see cref="TransferService"/>).
/// </summary>
public static partial class ServerLogEvents
{
    /// <summary>A free-form line of a listener or of the server (start-up, shutdown, a connection-level event).</summary>
    [LoggerMessage(EventId = 1, EventName = "Message", Level = LogLevel.Information, Message = "{Message}")]
    public static partial void Message(ILogger logger, string message);

    /// <summary>A line that needs the operator's attention (an open server, a risky option).</summary>
    [LoggerMessage(EventId = 2, EventName = "Warning", Level = LogLevel.Warning, Message = "{Message}")]
    public static partial void Warning(ILogger logger, string message);

    /// <summary>Detail for <c>-v</c>.</summary>
    [LoggerMessage(EventId = 3, EventName = "Detail", Level = LogLevel.Debug, Message = "{Message}")]
    public static partial void Detail(ILogger logger, string message);

    [LoggerMessage(EventId = 10, EventName = "TransferStarted", Level = LogLevel.Information, Message = "{Peer} {Op} {Path}{Details}")]
    public static partial void TransferStarted(ILogger logger, string peer, string op, string path, string details);

    [LoggerMessage(EventId = 11, EventName = "TransferDone", Level = LogLevel.Information, Message = "{Peer} {Op} {Path} done: {What}")]
    public static partial void TransferDone(ILogger logger, string peer, string op, string path, string what);

    [LoggerMessage(EventId = 12, EventName = "TransferFailed", Level = LogLevel.Information, Message = "{Peer} {Op} {Path} failed: {Why}")]
    public static partial void TransferFailed(ILogger logger, string peer, string op, string path, string why);

    [LoggerMessage(EventId = 13, EventName = "TransferRefused", Level = LogLevel.Information, Message = "{Peer} {Op} {Path} refused: {Why}")]
    public static partial void TransferRefused(ILogger logger, string peer, string op, string path, string why);

    [LoggerMessage(EventId = 14, EventName = "TransferNote", Level = LogLevel.Information, Message = "{Peer} {Op} {Path}: {What}")]
    public static partial void TransferNote(ILogger logger, string peer, string op, string path, string what);

    [LoggerMessage(EventId = 15, EventName = "UploadTakenOver", Level = LogLevel.Information, Message = "{Peer} takes over the upload of {Path} by {Previous}")]
    public static partial void UploadTakenOver(ILogger logger, string peer, string path, string previous);

    [LoggerMessage(EventId = 16, EventName = "TransferAuthorized", Level = LogLevel.Debug, Message = "{Peer} {Op} {Path} authorized ({Token})")]
    public static partial void TransferAuthorized(ILogger logger, string peer, string op, string path, string token);

    [LoggerMessage(EventId = 17, EventName = "TokenListUnreadable", Level = LogLevel.Error, Message = "cannot read the token list: {Reason}")]
    public static partial void TokenListUnreadable(ILogger logger, string reason);
}
