namespace Ferry.Protocol.Zmq;

/// <summary>A server reply: one frame "READY", or two frames "ERROR" and a UTF-8 text.</summary>
public readonly record struct ZmqReply(string? Error)
{
    public static readonly ReadOnlyMemory<byte> ReadyFrame = "READY"u8.ToArray();
    public static readonly ReadOnlyMemory<byte> ErrorFrame = "ERROR"u8.ToArray();

    public static ZmqReply Ready => default;

    public bool IsReady => Error is null;

    public static ZmqReply Fail(string text) => new(text);

    public override string ToString() => IsReady ? "READY" : $"ERROR {Error}";
}
