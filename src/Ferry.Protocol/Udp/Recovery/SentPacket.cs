namespace Ferry.Protocol.Udp.Recovery;

/// <summary>Reliable control frames a packet carried; re-queued when the packet is lost.</summary>
[Flags]
public enum ControlFrames : ushort
{
    None = 0,
    Request = 1,
    Accept = 2,
    Have = 4,
    DataFin = 8,
    Result = 16,
    Ping = 32,
    MaxData = 64,
    Hello = 128,
    ServerHello = 256,
    RateLimit = 512,
}

/// <summary>Where a sent packet stands; a packet leaves <see cref="Outstanding"/> once, for one of the other two.</summary>
public enum SentPacketState : byte
{
    /// <summary>In flight: neither acknowledged nor declared lost.</summary>
    Outstanding,

    /// <summary>Acknowledged by the peer.</summary>
    Acknowledged,

    /// <summary>Declared lost (its data and control frames were queued again).</summary>
    Lost,
}

/// <summary>What the sender remembers about one packet until it is acknowledged or declared lost.</summary>
public struct SentPacket
{
    public ulong Number;
    public long TimeSent;
    public int Size;
    public bool AckEliciting;
    public ControlFrames Controls;

    /// <summary>The DATA frame, if any: [DataOffset, DataOffset + DataLength).</summary>
    public long DataOffset;
    public int DataLength;

    /// <summary>The STREAM frame, if any: [StreamOffset, StreamOffset + StreamLength) of the control stream.</summary>
    public long StreamOffset;
    public int StreamLength;

    // The delivery-rate stamp at send time (see DeliveryRateSampler).
    public long Delivered;
    public long DeliveredTime;
    public long FirstSentTime;
    public bool IsAppLimited;

    /// <summary>Bytes lost so far to random (non-queue) loss, at send time.</summary>
    public long LostCredit;

    /// <summary>Whether the packet is still in flight, was acknowledged, or was declared lost.</summary>
    public SentPacketState State;

    public readonly bool Outstanding => State == SentPacketState.Outstanding;
}
