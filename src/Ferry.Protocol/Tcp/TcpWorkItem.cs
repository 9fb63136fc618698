namespace Ferry.Protocol.Tcp;

/// <summary>One unit of work: a range inside a single aligned block, sent as one DATA frame and acknowledged by one ACK.</summary>
public readonly record struct TcpWorkItem(long Offset, int Length)
{
    public long End => Offset + Length;

    public override string ToString() => $"[{Offset},{End})";
}
