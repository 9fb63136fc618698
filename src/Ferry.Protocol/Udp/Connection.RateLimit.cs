using Ferry.Protocol.Common;
using Ferry.Protocol.Udp.Congestion;
using Ferry.Protocol.Udp.Recovery;
using Ferry.Protocol.Udp.Wire;

namespace Ferry.Protocol.Udp;

/// <summary>
/// Rate limits (docs/PROTOCOL.md, RATE_LIMIT): a ceiling on the file data the sending side puts on the wire, apart from
/// congestion control. A client says what it asks for in a RATE_LIMIT frame before its REQUEST; the server answers
/// with the limit in force (the client's, or less under the server's caps) before its ACCEPT, and again whenever it
/// changes. The data sender applies it: the server for a GET, the client for a PUT.
/// </summary>
public sealed partial class Connection
{
    /// <summary>REQUEST copies that carry the client's RATE_LIMIT when it asks for a limit on a download (see WriteRateLimitBeforeRequest).</summary>
    private const int LimitedGetRateCopies = 2;

    private readonly RateLimiter _rateLimiter = new();

    // Client: the rate asked for, bit/s (0: none; -1: no RATE_LIMIT frame is sent); REQUEST copies still to carry it.
    private long _requestedRate = -1;
    private int _rateCopies;

    // The limit in force, bit/s (0: none), and its sequence number (server: of the last one set; client: the newest
    // heard, -1 before any). Server: whether the client sent RATE_LIMIT (so it understands the frame).
    private long _rateLimit;
    private long _rateSequence = -1;
    private bool _peerTakesRateLimit;

    /// <summary>
    /// The rate limit in force, bit/s (0: none). Client: what the server said (or, for a PUT before it did or with a
    /// server that never does, the client's own). Server: what <see cref="SetRateLimit"/> set.
    /// </summary>
    public long RateLimit => _rateLimit;

    /// <summary>Client: the server sent the limit in force (a server older than RATE_LIMIT never does).</summary>
    public bool RateLimitConfirmed => IsClient && _rateSequence >= 0;

    /// <summary>
    /// Server: sets the limit in force for this transfer (bit/s, 0: none), at any time. A GET's sending is held to it;
    /// the client hears it (before ACCEPT, or at once if accepted) when it sent a RATE_LIMIT of its own, and a PUT
    /// client holds its sending to it.
    /// </summary>
    public void SetRateLimit(long bitsPerSecond)
    {
        if (IsClient)
        {
            throw new InvalidOperationException("SetRateLimit is for a server connection");
        }

        bitsPerSecond = Math.Clamp(bitsPerSecond, 0, FrameCodec.MaxRateLimit);
        if (bitsPerSecond == _rateLimit && _rateSequence >= 0)
        {
            return;
        }

        _rateLimit = bitsPerSecond;
        _rateSequence = Math.Min(_rateSequence + 1, FrameCodec.MaxRateSequence);
        _rateLimiter.SetRate(bitsPerSecond / 8);
        if (_peerTakesRateLimit && State is ConnectionState.Handshake or ConnectionState.Established)
        {
            Queue(ControlFrames.RateLimit);
        }
    }

    /// <summary>Client: what CreateClient asked for.</summary>
    private void InitRateLimit(long? bitsPerSecond)
    {
        if (bitsPerSecond is not { } rate)
        {
            return;
        }

        _requestedRate = Math.Clamp(rate, 0, FrameCodec.MaxRateLimit);
        ResetRateCopies();
        if (_isDataSender)
        {
            _rateLimit = _requestedRate;
            _rateLimiter.SetRate(_requestedRate / 8);
        }
    }

    /// <summary>
    /// How many REQUEST copies carry RATE_LIMIT. One, as UPLOAD_KEY: a server older than the frame drops the packet, and
    /// the REQUEST's next copy goes without it. Two for a download with a limit, which only the server can apply: a
    /// lost first copy must not leave the download unlimited (an older server then answers the third copy).
    /// </summary>
    private void ResetRateCopies() =>
        _rateCopies = _requestedRate < 0 ? 0 : _op.IsDownload() && _requestedRate > 0 ? LimitedGetRateCopies : 1;

    private void WriteRateLimitBeforeRequest(ref SpanWriter w, out bool written) =>
        written = _rateCopies > 0 && FrameCodec.TryWriteRateLimit(ref w, 0, _requestedRate);

    private void OnRequestWritten(bool withRate)
    {
        if (withRate)
        {
            _rateCopies--;
        }
    }

    /// <summary>Server: the limit in force, right before ACCEPT (in the same packet) and whenever it changes.</summary>
    private void WriteRateLimitControl(ref SpanWriter w, ref SentPacket sent)
    {
        if ((_pendingControls & ControlFrames.RateLimit) != 0 && FrameCodec.TryWriteRateLimit(ref w, _rateSequence, _rateLimit))
        {
            Mark(ref sent, ControlFrames.RateLimit);
        }
    }

    private void OnRateLimitFrame(in Frame f)
    {
        if (!IsClient)
        {
            // Kept for the REQUEST that follows it, as UPLOAD_KEY; ignored once the REQUEST is in.
            if (!HasRequest)
            {
                _peerTakesRateLimit = true;
                _requestedRate = f.Rate;
            }

            return;
        }

        if (f.Code <= _rateSequence)
        {
            return; // an older value that arrived late
        }

        _rateSequence = f.Code;
        _rateLimit = f.Rate;
        if (_isDataSender)
        {
            // The server's value already includes this client's own request; the smaller of both is kept all the same.
            long own = _requestedRate > 0 ? _requestedRate : long.MaxValue;
            long server = f.Rate > 0 ? f.Rate : long.MaxValue;
            long limit = Math.Min(own, server);
            _rateLimit = limit == long.MaxValue ? 0 : limit;
            _rateLimiter.SetRate(_rateLimit / 8);
        }
    }

    /// <summary>Server: what the client asked for in its RATE_LIMIT (bit/s, 0: no limit), or null when it sent none.</summary>
    private long? RequestedRateOfPeer => _peerTakesRateLimit ? _requestedRate : null;

    /// <summary>Data sender: returns 0 when the rate limit lets a packet go now, else when it will.</summary>
    private long RateLimitWake(long now) => _rateLimiter.Check(now);

    private void OnDataSentUnderLimit(int length) => _rateLimiter.OnSent(length);
}
