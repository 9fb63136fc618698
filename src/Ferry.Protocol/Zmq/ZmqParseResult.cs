namespace Ferry.Protocol.Zmq;

/// <summary>Either a well-formed <see cref="ZmqRequest"/> or the ERROR text to answer (a value, never an exception).</summary>
public readonly struct ZmqParseResult
{
    private ZmqParseResult(ZmqRequest request, string? error)
    {
        Request = request;
        Error = error;
    }

    public bool IsValid => Error is null;

    /// <summary>The request; default when <see cref="IsValid"/> is false.</summary>
    public ZmqRequest Request { get; }

    /// <summary>The text of the ERROR reply when the message is malformed.</summary>
    public string? Error { get; }

    public static ZmqParseResult Valid(ZmqRequest request) => new(request, null);

    public static ZmqParseResult Invalid(string error) => new(default, error);
}
