using Ferry.Protocol.Udp.Congestion;

namespace Ferry.Protocol.Udp.Recovery;

/// <summary>
/// Delivery-rate estimation (draft-cheng-iccrg-delivery-rate-estimation): each packet is stamped at send time with
/// how much had been delivered by then, and when; an ACK turns the newest acknowledged packet's stamp into a rate
/// sample (bytes delivered over the longer of the send and the ACK intervals). Samples taken while the sender had
/// nothing to send are marked app-limited. Bytes lost to random loss (no queue seen) are counted too, so a sample
/// can also say what the bottleneck carried (<see cref="RateSample.CreditedRate"/>). Times in microseconds.
/// </summary>
public sealed class DeliveryRateSampler
{
    private long _delivered;
    private long _deliveredTime;
    private long _firstSentTime;
    private long _appLimitedUntil;
    private long _lostCredit;

    // The ACK being processed: the stamp of its newest acknowledged packet.
    private long _priorDelivered = -1;
    private long _priorCredit;
    private long _sendElapsed;
    private long _ackElapsed;
    private long _sampleRtt;
    private bool _sampleAppLimited;

    /// <summary>Bytes acknowledged so far.</summary>
    public long Delivered => _delivered;

    /// <summary>
    /// Stamps <paramref name="sent"/> before it goes out. <paramref name="fillsPath"/> false: a packet that does not
    /// carry the transfer at the path's pace (handshake, request), so samples until it is delivered are app-limited.
    /// </summary>
    public void OnPacketSent(ref SentPacket sent, long now, long bytesInFlight, bool fillsPath)
    {
        if (bytesInFlight == 0)
        {
            _firstSentTime = now;
            _deliveredTime = now;
        }

        if (_appLimitedUntil != 0 && _delivered > _appLimitedUntil)
        {
            _appLimitedUntil = 0;
        }

        if (!fillsPath)
        {
            _appLimitedUntil = Math.Max(_delivered + bytesInFlight + sent.Size, 1);
        }

        sent.Delivered = _delivered;
        sent.DeliveredTime = _deliveredTime;
        sent.FirstSentTime = _firstSentTime;
        sent.IsAppLimited = _appLimitedUntil != 0;
        sent.LostCredit = _lostCredit;
    }

    /// <summary>The sender has nothing to send although its window is open: samples until what is in flight is delivered are app-limited.</summary>
    public void OnAppLimited(long bytesInFlight) => _appLimitedUntil = Math.Max(_delivered + bytesInFlight, 1);

    /// <summary>Bytes declared lost while no queue showed: random loss after the bottleneck, which used its time anyway.</summary>
    public void OnRandomLoss(long bytes) => _lostCredit += bytes;

    /// <summary>Starts the packets of one ACK frame.</summary>
    public void BeginAck()
    {
        _priorDelivered = -1;
        _priorCredit = _sendElapsed = _ackElapsed = _sampleRtt = 0;
        _sampleAppLimited = false;
    }

    /// <summary>One packet newly acknowledged by the ACK frame being processed.</summary>
    public void OnPacketAcked(in SentPacket p, long now)
    {
        _delivered += p.Size;
        _deliveredTime = now;
        if (p.Delivered > _priorDelivered)
        {
            _priorDelivered = p.Delivered;
            _priorCredit = p.LostCredit;
            _sendElapsed = p.TimeSent - p.FirstSentTime;
            _ackElapsed = now - p.DeliveredTime;
            _sampleAppLimited = p.IsAppLimited;
            _sampleRtt = now - p.TimeSent;
            _firstSentTime = p.TimeSent;
        }
    }

    /// <summary>
    /// The sample of the ACK frame just processed. Invalid (rates 0) when its interval is shorter than half the
    /// minimum RTT <paramref name="minRtt"/>: a burst of ACKs would read as a rate the path never had.
    /// </summary>
    public RateSample EndAck(long minRtt)
    {
        long delivered = _priorDelivered >= 0 ? _delivered - _priorDelivered : 0;
        long interval = Math.Max(_sendElapsed, _ackElapsed);
        bool valid = _priorDelivered >= 0 && interval > 0 && interval >= minRtt / 2;
        long rate = valid ? delivered * 1_000_000 / interval : 0;
        long credited = valid ? (delivered + _lostCredit - _priorCredit) * 1_000_000 / interval : 0;
        return new RateSample(rate, credited, delivered, _priorDelivered, _sampleRtt, _sampleAppLimited);
    }
}
