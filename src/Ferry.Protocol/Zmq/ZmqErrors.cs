using System.Globalization;
using System.Text;

namespace Ferry.Protocol.Zmq;

/// <summary>
/// Every ERROR text of the zmq:// protocol, in one place so docs/PROTOCOL.md and the tests can quote them exactly.
/// Peer-supplied bytes are echoed only through <see cref="Printable"/> (escaped, shortened).
/// </summary>
public static class ZmqErrors
{
    public const string EmptyMessage = "empty message: expected HELLO, CHUNK or CLOSE";

    public const string EmptyFileName = "filename is empty";

    public const string FileNameNotUtf8 = "filename is not valid UTF-8";

    public const string EmptyChunk = "chunk size must be at least 1 byte";

    public const string TooManyUnanswered = "too many unanswered messages: read the replies before sending more";

    public const string ShuttingDown = "server is shutting down";

    public static string TooManyTransfers(bool perClient) => perClient
        ? $"too many open transfers from this client (at most {ZmqLimits.MaxOpenTransfersPerClient}): CLOSE one first"
        : $"too many open transfers on the server (at most {ZmqLimits.MaxOpenTransfers}): try again later";

    public static string TooManyRanges(long offset, long end) =>
        $"chunk [{offset}, {end}) would leave more than {ZmqLimits.MaxRangesPerTransfer} separate received ranges: send chunks in order";

    public const string BadToken = "token must be printable ASCII without spaces";

    /// <summary>Prefix of the ERROR text of a HELLO the access policy refused (clients map it to "refused").</summary>
    public const string DeniedPrefix = "denied: ";

    public static string UnknownVerb(ReadOnlySpan<byte> verb) =>
        $"unknown verb '{Printable(verb)}': expected HELLO, CHUNK or CLOSE";

    public static string FrameCount(ZmqVerb verb, int got) => verb switch
    {
        ZmqVerb.Hello => $"wrong frame count: HELLO takes 2 frames (HELLO, filename) or 3 (HELLO, filename, token), got {got}",
        ZmqVerb.Chunk => $"wrong frame count: CHUNK takes 6 frames (CHUNK, filename, offset, size, checksum, data), got {got}",
        _ => $"wrong frame count: CLOSE takes 3 frames (CLOSE, filename, size), got {got}",
    };

    public static string FrameTooLarge(int index, string name, long length, long limit) =>
        $"frame {index} ({name}) is {length} bytes, over the limit of {limit}";

    public static string NotANumber(string field, ReadOnlySpan<byte> text) =>
        $"{field} is not an ASCII decimal number from 0 to 9223372036854775807: '{Printable(text)}'";

    public static string BadChecksumFormat(ReadOnlySpan<byte> text) =>
        $"checksum must be 64 lowercase hex digits (the SHA-256 of the data frame), got '{Printable(text)}'";

    public static string SizeMismatch(long size, int dataLength) =>
        $"size {size} does not match the data frame length {dataLength}";

    public static string NoTransfer(string fileName) =>
        $"no open transfer of '{Printable(fileName)}': send HELLO first";

    public static string AlreadyOpen(string fileName) =>
        $"'{Printable(fileName)}' is already being uploaded on this connection: finish it with CLOSE first";

    public static string Overlap(long start, long end, long otherStart, long otherEnd) =>
        $"chunk [{start},{end}) overlaps chunk [{otherStart},{otherEnd}) that is still in transit";

    public static string BeyondMaxFileSize(long end, long maxFileSize) =>
        $"chunk ends at byte {end}, beyond the maximum file size of {maxFileSize} bytes";

    public static string ChecksumMismatch(in Sha256Digest expected, in Sha256Digest actual) =>
        $"checksum mismatch: the data hashes to {actual.ToLowerHex()}, not {expected.ToLowerHex()}";

    public static string CloseSizeMismatch(long size, long end) =>
        $"size mismatch: CLOSE says {size} bytes but the chunks end at byte {end}; transfer aborted";

    public static string CloseGap(long start, long end) =>
        $"gap: bytes [{start},{end}) never arrived; transfer aborted";

    /// <summary>Peer bytes for an error text: printable ASCII kept, anything else as \xNN, at most 64 bytes shown.</summary>
    public static string Printable(ReadOnlySpan<byte> bytes)
    {
        var sb = new StringBuilder();
        int shown = Math.Min(bytes.Length, 64);
        for (int i = 0; i < shown; i++)
        {
            byte b = bytes[i];
            if (b is >= 0x20 and < 0x7f && b != (byte)'\\' && b != (byte)'\'')
            {
                sb.Append((char)b);
            }
            else
            {
                sb.Append(CultureInfo.InvariantCulture, $"\\x{b:x2}");
            }
        }

        if (bytes.Length > shown)
        {
            sb.Append(CultureInfo.InvariantCulture, $"...({bytes.Length} bytes)");
        }

        return sb.ToString();
    }

    /// <summary>A filename for an error text: control characters, quotes and backslashes escaped, at most 200 characters.</summary>
    public static string Printable(string text)
    {
        var sb = new StringBuilder();
        int shown = Math.Min(text.Length, 200);
        for (int i = 0; i < shown; i++)
        {
            char c = text[i];
            if (char.IsControl(c) || c == '\\' || c == '\'')
            {
                sb.Append(CultureInfo.InvariantCulture, $"\\x{(int)c:x2}");
            }
            else
            {
                sb.Append(c);
            }
        }

        if (text.Length > shown)
        {
            sb.Append("...");
        }

        return sb.ToString();
    }
}
