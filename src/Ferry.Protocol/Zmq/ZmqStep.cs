namespace Ferry.Protocol.Zmq;

/// <summary>The session's verdict on one request: an action for the shell and, for Reply/Abort, the reply to send.</summary>
public readonly record struct ZmqStep(ZmqStepKind Kind, ZmqReply Reply)
{
    public static ZmqStep Answer(ZmqReply reply) => new(ZmqStepKind.Reply, reply);

    public static ZmqStep Fail(string error) => new(ZmqStepKind.Reply, ZmqReply.Fail(error));

    public static ZmqStep Do(ZmqStepKind kind) => new(kind, default);
}
