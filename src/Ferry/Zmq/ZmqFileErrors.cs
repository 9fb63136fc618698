using Ferry.Files;
using Ferry.Transfers;

namespace Ferry.Zmq;

/// <summary>
/// zmq://'s mapping between the failure catalog (<see cref="FailureKind"/>) and ERROR texts: a refusal reads
/// "kind: message", so any client can tell a busy file from a bad path.
/// </summary>
internal static class ZmqFileErrors
{
    /// <summary>The kind word an ERROR text starts with for a catalog entry.</summary>
    public static string ToWire(FailureKind kind) => kind switch
    {
        FailureKind.InvalidPath => "invalid-path",
        FailureKind.NotFound => "not-found",
        FailureKind.NotRegularFile => "not-regular-file",
        FailureKind.AlreadyExists => "exists",
        FailureKind.Busy => "busy",
        FailureKind.NoSpace => "no-space",
        FailureKind.Integrity => "integrity",
        FailureKind.Denied or FailureKind.Unauthorized => "denied",
        FailureKind.TooLarge => "too-large",
        _ => "io",
    };

    /// <summary>The whole ERROR text for a catalog entry: "kind: message", or the protocol's fixed text for the entries that have one.</summary>
    public static string ToText(FailureKind kind, string message) => kind switch
    {
        FailureKind.ServerShutdown => Protocol.Zmq.ZmqErrors.ShuttingDown,
        FailureKind.ServerBusy => Protocol.Zmq.ZmqErrors.TooManyTransfers(perClient: false),
        _ => $"{ToWire(kind)}: {message}",
    };

    /// <summary>The catalog entry of an ERROR text, and the text without its kind word.</summary>
    public static FailureKind FromWire(string error, out string message)
    {
        message = error;
        if (error == Protocol.Zmq.ZmqErrors.ShuttingDown)
        {
            return FailureKind.ServerShutdown;
        }

        if (error.StartsWith("checksum mismatch", StringComparison.Ordinal))
        {
            return FailureKind.Integrity;
        }

        int colon = error.IndexOf(": ", StringComparison.Ordinal);
        FailureKind? kind = colon < 0 ? null : error[..colon] switch
        {
            "invalid-path" => FailureKind.InvalidPath,
            "not-found" => FailureKind.NotFound,
            "not-regular-file" => FailureKind.NotRegularFile,
            "exists" => FailureKind.AlreadyExists,
            "busy" => FailureKind.Busy,
            "no-space" => FailureKind.NoSpace,
            "integrity" => FailureKind.Integrity,
            "denied" => FailureKind.Denied,
            "too-large" => FailureKind.TooLarge,
            "io" => FailureKind.Io,
            _ => null,
        };
        if (kind is { } k)
        {
            message = error[(colon + 2)..];
            return k;
        }

        return error.StartsWith("too many open transfers on the server", StringComparison.Ordinal) ? FailureKind.ServerBusy : FailureKind.ProtocolViolation;
    }

    public static string Describe(FileEngineException e) => ToText(Failures.From(e.Code), e.Message);

    /// <summary>Any other I/O failure on the server, without leaking server paths.</summary>
    public static string Io(string fileName, Exception e) =>
        $"io: '{Protocol.Zmq.ZmqErrors.Printable(fileName)}': {e.GetType().Name} on the server";
}
