using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Ferry.Files;
using Ferry.Protocol.Zmq;
using Ferry.Timing;
using Ferry.Transfers;
using Ferry.Zmq.Native;

namespace Ferry.Zmq.Client;

/// <summary>
/// One zmq:// upload on the calling thread: a DEALER socket driven by <see cref="ZmqUploadPipeline"/>. Reads the
/// file once, in order, through <see cref="HashingFileSource"/> (whole-file SHA-256 for the result) and hashes each
/// chunk for its checksum frame.
/// </summary>
internal sealed class ZmqUploader
{
    /// <summary>Bytes of chunks kept in flight (the window is this divided by the chunk size, 2 to 64 chunks).</summary>
    public const int WindowBytes = 16 << 20;

    private static readonly TimeSpan s_defaultTimeout = TimeSpan.FromSeconds(30);
    private const long ProgressIntervalMicros = 100_000;

    private readonly string _localPath;
    private readonly string _endpoint;
    private readonly bool _ipv6;
    private readonly string _remotePath;
    private readonly ClientOptions _options;
    private readonly IProgress<TransferProgress> _progress;
    private readonly byte[] _fileNameFrame;
    private readonly TimeSpan _timeout;
    private readonly ShellClock _clock;
    private byte[]? _token;
    private ZmqHandshakeWatch? _watch;
    private long _connectDeadline;

    public ZmqUploader(string localPath, string endpoint, bool ipv6, string remotePath, ClientOptions options, IProgress<TransferProgress> progress, ShellClock clock)
    {
        _clock = clock;
        _localPath = localPath;
        _endpoint = endpoint;
        _ipv6 = ipv6;
        _remotePath = remotePath;
        _options = options;
        _progress = progress;
        _fileNameFrame = Encoding.UTF8.GetBytes(remotePath);
        _timeout = options.Timeout ?? s_defaultTimeout;
    }

    /// <summary>The CURVE key of the server; null for a plain connection (<c>--insecure</c>).</summary>
    public ZmqServerKey? ServerKey { get; init; }

    /// <summary>host:port, for messages.</summary>
    public string Server { get; init; } = string.Empty;

    public TransferResult Run(CancellationToken cancellationToken)
    {
        var elapsed = Stopwatch.StartNew(); // for the summary only
        using var handle = OpenLocal();
        long length = RandomAccess.GetLength(handle);
        int chunkSize = _options.ChunkSize;
        int window = Math.Clamp(WindowBytes / chunkSize, 2, 64);
        var pipeline = new ZmqUploadPipeline(length, chunkSize, window);
        using var source = new HashingFileSource(handle, length, Math.Max(chunkSize, 1 << 20));
        using var zmq = new ZmqContext();
        using var dealer = zmq.CreateSocket(ZmqSocketType.Dealer);
        dealer.IPv6 = _ipv6;
        dealer.SendHighWaterMark = 2 * window + 4;
        dealer.ReceiveHighWaterMark = 2 * window + 4;

        // The send queue holds more than the window, so sends only block while libzmq is still connecting.
        dealer.SendTimeout = (int)_timeout.TotalMilliseconds;
        string? token = Ferry.Security.ClientSecurity.Token(_options);
        if (ServerKey is { } key)
        {
            // A fresh client key per upload: the server authenticates users by token, not by CURVE key.
            var (publicKey, secretKey) = ZmqCurve.NewKeyPair();
            dealer.SetCurveClient(key.Key, publicKey, secretKey);
        }
        else if (token is not null)
        {
            _options.Notice?.Invoke("--insecure: the access token travels in cleartext");
        }

        _token = token is null ? null : Encoding.ASCII.GetBytes(token);
        using var watch = new ZmqHandshakeWatch(zmq, dealer, Server, _endpoint, _ipv6, ServerKey, _clock);
        _watch = watch;
        _connectDeadline = _clock.NowMicros + (long)_options.ConnectTimeout.TotalMicroseconds;
        dealer.Connect(_endpoint);

        byte[] chunk = new byte[chunkSize];
        byte[] checksum = new byte[64];
        var frames = new List<byte[]>();
        long lastProgress = long.MinValue;
        bool opened = false;
        try
        {
            _progress.Report(new TransferProgress(0, length) { ConnectingTo = Server });
            while (pipeline.Phase is not (ZmqUploadPhase.Done or ZmqUploadPhase.Failed))
            {
                cancellationToken.ThrowIfCancellationRequested();
                while (pipeline.NextToSend() is { } next)
                {
                    SendRequest(dealer, next, source, chunk, checksum);
                }

                var reply = ReceiveReply(dealer, frames, cancellationToken);
                var answered = pipeline.OnReply(reply);
                if (answered.Verb == ZmqVerb.Hello)
                {
                    // Any reply came through CURVE: the server holds the key, so it may be pinned now.
                    if (ServerKey is { } k)
                    {
                        ZmqClientSecurity.PinAfterSuccess(k, _options);
                    }

                    opened = reply.IsReady;
                }

                long now = _clock.NowMicros;
                if (lastProgress == long.MinValue || now - lastProgress >= ProgressIntervalMicros)
                {
                    lastProgress = now;
                    _progress.Report(new TransferProgress(pipeline.BytesAcknowledged, length));
                }
            }

            if (pipeline.Phase == ZmqUploadPhase.Failed)
            {
                // CLOSE ERROR already aborted the transfer on the server; after a HELLO ERROR there is none.
                if (pipeline.FailedRequest?.Verb == ZmqVerb.Chunk)
                {
                    AbortOnServer(dealer, pipeline, frames, length);
                }

                throw Failure(pipeline.FailedRequest!.Value, pipeline.Error!);
            }
        }
        catch (Exception) when (opened && pipeline.Phase is ZmqUploadPhase.Chunks)
        {
            AbortOnServer(dealer, pipeline, frames, length);
            throw;
        }

        _progress.Report(new TransferProgress(length, length));
        byte[] sha = source.CompleteHash();
        return new TransferResult(length, elapsed.Elapsed, Convert.ToHexStringLower(sha))
        {
            Stats = new Dictionary<string, long> { ["chunks"] = pipeline.ChunksSent, ["chunk_size"] = chunkSize, ["window"] = window },
        };
    }

    private Microsoft.Win32.SafeHandles.SafeFileHandle OpenLocal()
    {
        try
        {
            return File.OpenHandle(_localPath, FileMode.Open, FileAccess.Read, FileShare.Read);
        }
        catch (FileNotFoundException)
        {
            throw new TransferException(ExitCode.LocalIo, $"'{_localPath}' does not exist");
        }
        catch (DirectoryNotFoundException)
        {
            throw new TransferException(ExitCode.LocalIo, $"'{_localPath}' does not exist");
        }
    }

    private void SendRequest(ZmqSocket dealer, ZmqOutgoing next, HashingFileSource source, byte[] chunk, byte[] checksum)
    {
        switch (next.Verb)
        {
            case ZmqVerb.Hello:
                Send(dealer, "HELLO"u8, more: true);
                Send(dealer, _fileNameFrame, more: _token is not null);
                if (_token is not null)
                {
                    // The optional third frame (docs/PROTOCOL.md); without a token HELLO keeps its basic two frames.
                    Send(dealer, _token, more: false);
                }

                break;
            case ZmqVerb.Chunk:
            {
                var data = chunk.AsSpan(0, next.Length);
                if (source.Read(next.Offset, data) != next.Length)
                {
                    throw new TransferException(ExitCode.LocalIo, $"'{_localPath}' shrank while it was being sent");
                }

                Span<byte> digest = stackalloc byte[32];
                SHA256.HashData(data, digest);
                Encoding.ASCII.GetBytes(Convert.ToHexStringLower(digest), checksum);
                Send(dealer, "CHUNK"u8, more: true);
                Send(dealer, _fileNameFrame, more: true);
                Send(dealer, Ascii(next.Offset), more: true);
                Send(dealer, Ascii(next.Length), more: true);
                Send(dealer, checksum, more: true);
                Send(dealer, data, more: false);
                break;
            }

            default:
                Send(dealer, "CLOSE"u8, more: true);
                Send(dealer, _fileNameFrame, more: true);
                Send(dealer, Ascii(next.Offset), more: false);
                break;
        }
    }

    private static byte[] Ascii(long value) => Encoding.ASCII.GetBytes(value.ToString(CultureInfo.InvariantCulture));

    private void Send(ZmqSocket dealer, ReadOnlySpan<byte> frame, bool more)
    {
        if (!dealer.TrySend(frame, more))
        {
            throw new TransferException(ExitCode.Timeout, $"cannot reach {_endpoint}: nothing could be sent for {_timeout.TotalSeconds:0.#} s");
        }
    }

    private ZmqReply ReceiveReply(ZmqSocket dealer, List<byte[]> frames, CancellationToken cancellationToken)
    {
        // Wait in short slices so Ctrl+C is noticed promptly.
        dealer.ReceiveTimeout = 100;
        long deadline = _clock.NowMicros + (long)_timeout.TotalMicroseconds;
        int count;
        while (!dealer.TryReceiveMessage(frames, out count, maxFrames: 4))
        {
            cancellationToken.ThrowIfCancellationRequested();
            _watch?.Check();
            long now = _clock.NowMicros;
            if (_watch is { Succeeded: false } && now > _connectDeadline)
            {
                // Nothing completed a ZeroMQ handshake: nothing is listening there, or it is not a zmq:// server of this kind.
                throw new TransferException(ExitCode.Timeout,
                    $"no answer from {Server} within {_options.ConnectTimeout.TotalSeconds:0.#} s: no ZeroMQ handshake completed (is 'ferry serve' running with zmq:// on that port? " +
                    (ServerKey is null ? "A server without --insecure needs --server-key instead of --insecure)" : "A server started with --insecure needs --insecure here)"));
            }

            if (_watch is not { Succeeded: false } && now > deadline)
            {
                throw Failures.Silent(Server, _timeout, resumable: false);
            }
        }

        if (count != frames.Count)
        {
            throw new TransferException(ExitCode.Failure, $"unexpected reply from {_endpoint} ({count} frames): not a Ferry zmq:// server?");
        }

        if (frames.Count == 1 && frames[0].AsSpan().SequenceEqual("READY"u8))
        {
            return ZmqReply.Ready;
        }

        if (frames.Count == 2 && frames[0].AsSpan().SequenceEqual("ERROR"u8))
        {
            return ZmqReply.Fail(Encoding.UTF8.GetString(frames[1]));
        }

        throw new TransferException(ExitCode.Failure, $"unexpected reply from {_endpoint} ({frames.Count} frames): not a Ferry zmq:// server?");
    }

    /// <summary>Most time an abort waits for the server's answer before the socket is closed anyway.</summary>
    internal static readonly TimeSpan AbortWait = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Frees the filename on the server at once: a CLOSE whose size cannot match aborts the transfer (rule 3). Returns
    /// once the server answered it (or after <see cref="AbortWait"/>), never by closing the socket behind it: libzmq's
    /// linger only waits until the socket's queue is handed to the connection's engine, and closing then drops what
    /// the engine has not written yet (and, with replies still unread, Linux answers with a reset that loses what the
    /// kernel had not sent): the CLOSE queued behind a window of chunks was lost about one run in eight.
    /// Replies come back in request order, so the CLOSE's answer is the last of those owed.
    /// </summary>
    private void AbortOnServer(ZmqSocket dealer, ZmqUploadPipeline pipeline, List<byte[]> frames, long length)
    {
        long deadline = _clock.NowMicros + (long)AbortWait.TotalMicroseconds;
        try
        {
            // The send queue may be full of pipelined chunks: wait for room (at most a second), not give up at once,
            // or the server keeps the transfer until its idle timeout.
            dealer.SendTimeout = 1000;
            if (!dealer.TrySend("CLOSE"u8, more: true, dontWait: false))
            {
                return;
            }

            dealer.TrySend(_fileNameFrame, more: true, dontWait: false);
            dealer.TrySend(Ascii(length + 1), more: false, dontWait: false);

            // The answers to the chunks still in flight, then the CLOSE's (an ERROR naming the size mismatch).
            int owed = pipeline.Unanswered + 1;
            dealer.ReceiveTimeout = 100;
            while (owed > 0 && _clock.NowMicros < deadline)
            {
                if (dealer.TryReceiveMessage(frames, out _, maxFrames: 4))
                {
                    owed--;
                }
            }
        }
        catch (ZmqException)
        {
        }
    }

    private TransferException Failure(ZmqOutgoing request, string error)
    {
        var kind = ZmqFileErrors.FromWire(error, out string message);
        if (kind != FailureKind.ProtocolViolation)
        {
            return Failures.FromServer(kind, message, resumable: false);
        }

        string what = request.Verb switch
        {
            ZmqVerb.Hello => $"server refused '{_remotePath}'",
            ZmqVerb.Chunk => $"server rejected bytes [{request.Offset},{request.Offset + request.Length})",
            _ => $"server did not store '{_remotePath}'",
        };
        return new TransferException(Failures.ToExitCode(kind), $"{what}: {error}");
    }
}
