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

    // Delivery-rate sampling state at send time (draft-cheng-iccrg-delivery-rate-estimation).
    public long Delivered;
    public long DeliveredTime;
    public long FirstSentTime;
    public bool IsAppLimited;

    /// <summary>The connection's <c>LostCredit</c> at send time: bytes lost so far to random (non-queue) loss.</summary>
    public long LostCredit;

    /// <summary>0 outstanding, 1 acknowledged, 2 declared lost.</summary>
    public byte State;

    public readonly bool Outstanding => State == 0;
}
