namespace Ferry.Protocol.Udp.Congestion;

/// <summary>A delivery-rate sample taken when an ACK arrives (draft-cheng-iccrg-delivery-rate-estimation).</summary>
public readonly record struct RateSample(
    long DeliveryRate,      // bytes per second; 0 when the sample is invalid
    long CreditedRate,      // delivered plus randomly lost (lost while the RTT was not inflated) bytes per second
    long Delivered,         // bytes delivered in the sample interval
    long PriorDelivered,    // connection's delivered count when the newest acked packet was sent
    long Rtt,               // RTT of the newest acked packet, microseconds
    bool IsAppLimited);

/// <summary>Everything a controller learns from one ACK frame.</summary>
public readonly record struct AckEvent(
    long Now,
    long NewlyAckedBytes,
    long BytesInFlight,
    long LargestAckedSentTime,
    long TotalDelivered,
    RateSample Sample,
    long MinRtt,
    long SmoothedRtt);

/// <summary>Congestion controller: how much may be in flight and how fast to pace.</summary>
public interface ICongestionController
{
    string Name { get; }

    /// <summary>Bytes that may be in flight.</summary>
    long CongestionWindow { get; }

    /// <summary>Pacing rate in bytes per second.</summary>
    long PacingRate { get; }

    void OnPacketSent(long now, int bytes, long bytesInFlight);

    void OnAck(in AckEvent ack);

    /// <summary>
    /// Packets declared lost; <paramref name="largestLostSentTime"/> tells recovery epochs apart.
    /// <paramref name="congestiveBytes"/> is the part lost while the RTT showed a queue (likely drops at a full
    /// bottleneck queue); the rest was lost while the path was not queueing (random loss on the path).
    /// </summary>
    void OnLoss(long now, long lostBytes, long congestiveBytes, long largestLostSentTime, long bytesInFlight);
}
