using Ferry.Protocol.Common;
using Ferry.Protocol.Udp.Recovery;
using Ferry.Protocol.Udp.Wire;

namespace Ferry.Protocol.Udp;

/// <summary>The connection's control stream (<see cref="ControlStream"/>): when its frames may go, and its bytes as events.</summary>
public sealed partial class Connection
{
    private readonly ControlStream _stream = new();

    // Client: its REQUEST went out at least once (STREAM frames follow it, never in its packet: an older server drops a
    // packet with a frame it does not know, and must see the REQUEST alone to refuse it clearly).
    private bool _requestSent;

    /// <summary>Bytes written to this side's control stream so far.</summary>
    public long StreamWritten => _stream.Written;

    /// <summary>True when the peer acknowledged every byte written to this side's control stream.</summary>
    public bool StreamAcknowledged => _stream.AllAcknowledged;

    /// <summary>
    /// Appends <paramref name="data"/> to this side's control stream: the peer gets it in order, exactly once, as
    /// <see cref="ConnectionEventKind.StreamData"/> events. A client's bytes follow its REQUEST; a server's may go as
    /// soon as it has the REQUEST (before ACCEPT).
    /// </summary>
    public void WriteStream(ReadOnlySpan<byte> data)
    {
        if (State is ConnectionState.Closing or ConnectionState.Closed)
        {
            return;
        }

        _stream.Write(data);
    }

    private bool StreamMayGo => State == ConnectionState.Established || (State == ConnectionState.Handshake && (IsClient ? _requestSent : HasRequest));

    private bool StreamReady => _stream.HasSendable && StreamMayGo;

    /// <summary>True when congestion control and pacing let one more full packet go now (a probe always may).</summary>
    private bool WindowAllows(long now)
    {
        if (_bytesInFlight + _maxDatagram > _cc.CongestionWindow && _probesPending == 0)
        {
            return false;
        }

        long wake = _pacer.Check(now, _maxDatagram, _cc.PacingRate);
        if (wake != 0 && _probesPending == 0)
        {
            _pacingWake = wake;
            return false;
        }

        return true;
    }

    private void WriteStreamFrame(ref SpanWriter w, ref SentPacket sent)
    {
        if (_stream.TryWriteFrame(ref w, out long offset, out int length))
        {
            sent.StreamOffset = offset;
            sent.StreamLength = length;
            sent.AckEliciting = true;
            _pacer.OnSent(length + 40);
        }
    }

    private void OnStreamFrame(in Frame f, long now)
    {
        var bytes = _stream.Receive(f.Offset, f.Data, out string? error);
        if (bytes is null)
        {
            Close(TransferError.FlowControl, error!, now);
            return;
        }

        if (bytes.Length > 0)
        {
            _events.Enqueue(new ConnectionEvent(ConnectionEventKind.StreamData) { StreamBytes = bytes, Op = _op });
        }
    }
}
