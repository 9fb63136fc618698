using Ferry.Files;

namespace Ferry.Zmq;

/// <summary>ERROR texts for file engine refusals: "kind: message", so any client can tell a busy file from a bad path.</summary>
internal static class ZmqFileErrors
{
    public static string Describe(FileEngineException e) => $"{Kind(e.Code)}: {e.Message}";

    public static string Kind(FileErrorCode code) => code switch
    {
        FileErrorCode.InvalidPath => "invalid-path",
        FileErrorCode.NotFound => "not-found",
        FileErrorCode.NotRegularFile => "not-regular-file",
        FileErrorCode.AlreadyExists => "exists",
        FileErrorCode.Busy => "busy",
        FileErrorCode.NoSpace => "no-space",
        FileErrorCode.Integrity => "integrity",
        FileErrorCode.Denied => "denied",
        FileErrorCode.TooLarge => "too-large",
        _ => "io",
    };

    /// <summary>Any other I/O failure on the server, without leaking server paths.</summary>
    public static string Io(string fileName, Exception e) =>
        $"io: '{Protocol.Zmq.ZmqErrors.Printable(fileName)}': {e.GetType().Name} on the server";
}
