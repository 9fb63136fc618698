using Ferry.Protocol.Relay;
using Microsoft.Data.Sqlite;

namespace Ferry.Relay;

/// <summary>
/// The relay's default store: one SQLite file in WAL mode with <c>synchronous=FULL</c>, so a batch is on disk
/// (WAL fsynced) before <see cref="Append"/> returns and its lines are acknowledged. Appends run in one transaction
/// per batch (group commit). Reads use a second connection and see committed data while a write is in progress.
/// </summary>
public sealed class SqliteMessageStore : IMessageStore
{
    private const string Schema = """
        CREATE TABLE IF NOT EXISTS messages (
            seq          INTEGER PRIMARY KEY,
            ts_ms        INTEGER NOT NULL,
            author       TEXT NOT NULL,
            text         TEXT NOT NULL,
            client_id    INTEGER NOT NULL,
            writer_seq   INTEGER NOT NULL);
        CREATE UNIQUE INDEX IF NOT EXISTS messages_writer ON messages (client_id, writer_seq);
        CREATE INDEX IF NOT EXISTS messages_ts ON messages (ts_ms);
        CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
        """;

    private readonly SqliteConnection _write;
    private readonly SqliteConnection _read;
    private readonly SqliteCommand _insert;
    private readonly SqliteCommand _saveLast;
    private readonly SqliteCommand _readRange;
    private readonly TimeProvider _time;
    private readonly object _readLock = new();
    private long _lastSeq;
    private long _firstSeq;

    /// <summary>Opens (or creates) <paramref name="path"/>.</summary>
    public SqliteMessageStore(string path, TimeProvider? time = null)
    {
        _time = time ?? TimeProvider.System;
        Path = path;
        string cs = new SqliteConnectionStringBuilder { DataSource = path, Mode = SqliteOpenMode.ReadWriteCreate, Pooling = false }.ToString();
        _write = new SqliteConnection(cs);
        _write.Open();
        Exec(_write, "PRAGMA journal_mode=WAL;");
        Exec(_write, "PRAGMA synchronous=FULL;");
        Exec(_write, "PRAGMA busy_timeout=5000;");
        Exec(_write, Schema);
        _read = new SqliteConnection(cs);
        _read.Open();
        Exec(_read, "PRAGMA busy_timeout=5000;");

        _insert = Prepare(_write, "INSERT INTO messages (seq, ts_ms, author, text, client_id, writer_seq) VALUES ($seq, $ts, $author, $text, $client, $wseq) ON CONFLICT (client_id, writer_seq) DO NOTHING",
            "$seq", "$ts", "$author", "$text", "$client", "$wseq");
        _saveLast = Prepare(_write, "INSERT INTO meta (key, value) VALUES ('last_seq', $v) ON CONFLICT (key) DO UPDATE SET value = excluded.value", "$v");
        _readRange = Prepare(_read, "SELECT seq, ts_ms, author, text FROM messages WHERE seq >= $from ORDER BY seq LIMIT $n", "$from", "$n");

        // Retention never deletes the newest row, and meta.last_seq is a second record of it: sequence numbers never restart.
        long maxRow = Scalar(_write, "SELECT IFNULL(MAX(seq), 0) FROM messages");
        long meta = Scalar(_write, "SELECT IFNULL((SELECT value FROM meta WHERE key = 'last_seq'), 0)");
        _lastSeq = Math.Max(maxRow, meta);
        _firstSeq = Scalar(_write, "SELECT IFNULL(MIN(seq), 0) FROM messages") is var min and > 0 ? min : _lastSeq + 1;
    }

    public string Path { get; }

    public long FirstSeq => Interlocked.Read(ref _firstSeq);

    public long LastSeq => Interlocked.Read(ref _lastSeq);

    public void Append(IReadOnlyList<RelayAppend> appends, List<RelayAppendResult> results)
    {
        results.Clear();
        if (appends.Count == 0)
        {
            return;
        }

        long ts = _time.GetUtcNow().ToUnixTimeMilliseconds();
        long seq = _lastSeq;
        using var tx = _write.BeginTransaction();
        try
        {
            _insert.Transaction = tx;
            _saveLast.Transaction = tx;
            foreach (var a in appends)
            {
                _insert.Parameters[0].Value = seq + 1;
                _insert.Parameters[1].Value = ts;
                _insert.Parameters[2].Value = a.Author;
                _insert.Parameters[3].Value = a.Text;
                _insert.Parameters[4].Value = unchecked((long)a.ClientId);
                _insert.Parameters[5].Value = a.WriterSeq;
                if (_insert.ExecuteNonQuery() == 1)
                {
                    seq++;
                    results.Add(new RelayAppendResult(a, new RelayMessage(seq, ts, a.Author, a.Text)));
                }
                else
                {
                    // Stored before a restart; its POST_ACK was lost. Acknowledge it, do not store it twice.
                    results.Add(new RelayAppendResult(a, null));
                }
            }

            _saveLast.Parameters[0].Value = seq;
            _saveLast.ExecuteNonQuery();
            tx.Commit();
        }
        catch
        {
            results.Clear();
            throw;
        }

        bool wasEmpty = _firstSeq > _lastSeq;
        Interlocked.Exchange(ref _lastSeq, seq);
        if (wasEmpty && results.Find(r => r.Message is not null).Message is { } first)
        {
            Interlocked.Exchange(ref _firstSeq, first.Seq);
        }
    }

    public void Read(long fromSeq, int maxCount, List<RelayMessage> into)
    {
        lock (_readLock)
        {
            _readRange.Parameters[0].Value = fromSeq;
            _readRange.Parameters[1].Value = maxCount;
            using var r = _readRange.ExecuteReader();
            while (r.Read())
            {
                into.Add(new RelayMessage(r.GetInt64(0), r.GetInt64(1), r.GetString(2), r.GetString(3)));
            }
        }
    }

    public long FindFirstAtOrAfter(long unixMillis)
    {
        lock (_readLock)
        {
            using var cmd = _read.CreateCommand();
            cmd.CommandText = "SELECT MIN(seq) FROM messages WHERE ts_ms >= $t";
            cmd.Parameters.AddWithValue("$t", unixMillis);
            return cmd.ExecuteScalar() is long seq ? seq : LastSeq + 1;
        }
    }

    public int Prune(RelayRetention retention)
    {
        long last = LastSeq;
        int removed = 0;
        if (retention.MaxCount is long max)
        {
            removed += Exec(_write, $"DELETE FROM messages WHERE seq <= {last - Math.Max(1, max)}");
        }

        if (retention.MaxAge is TimeSpan age)
        {
            long cutoff = _time.GetUtcNow().ToUnixTimeMilliseconds() - (long)age.TotalMilliseconds;
            removed += Exec(_write, $"DELETE FROM messages WHERE ts_ms < {cutoff} AND seq < {last}");
        }

        long min = Scalar(_write, "SELECT IFNULL(MIN(seq), 0) FROM messages");
        Interlocked.Exchange(ref _firstSeq, min > 0 ? min : LastSeq + 1);
        return removed;
    }

    public void Dispose()
    {
        _insert.Dispose();
        _saveLast.Dispose();
        _readRange.Dispose();
        _read.Dispose();
        _write.Dispose();
    }

    private static SqliteCommand Prepare(SqliteConnection c, string sql, params string[] parameters)
    {
        var cmd = c.CreateCommand();
        cmd.CommandText = sql;
        foreach (var p in parameters)
        {
            cmd.Parameters.Add(new SqliteParameter { ParameterName = p });
        }

        cmd.Prepare();
        return cmd;
    }

    private static int Exec(SqliteConnection c, string sql)
    {
        using var cmd = c.CreateCommand();
        cmd.CommandText = sql;
        return cmd.ExecuteNonQuery();
    }

    private static long Scalar(SqliteConnection c, string sql)
    {
        using var cmd = c.CreateCommand();
        cmd.CommandText = sql;
        return Convert.ToInt64(cmd.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);
    }
}
