using System.Text;
using System.Text.Unicode;

namespace Ferry.Protocol.Zmq;

/// <summary>
/// Turns the frames of one client message (routing envelope already removed) into a <see cref="ZmqRequest"/>
/// or the precise ERROR text. Checks, in order: frame count for the verb, frame sizes, filename, numbers,
/// checksum format, size equal to the data length. Nothing is allocated for the data frame.
/// </summary>
public static class ZmqRequestParser
{
    /// <summary>
    /// Parses <paramref name="frames"/> (the first frames kept of the message) given the message had
    /// <paramref name="frameCount"/> frames in all (more than were kept when it was oversized in count).
    /// </summary>
    public static ZmqParseResult Parse(ReadOnlySpan<ReadOnlyMemory<byte>> frames, int frameCount)
    {
        if (frameCount == 0 || frames.Length == 0)
        {
            return ZmqParseResult.Invalid(ZmqErrors.EmptyMessage);
        }

        ReadOnlySpan<byte> verbFrame = frames[0].Span;
        ZmqVerb verb;
        int expected;
        if (verbFrame.SequenceEqual("HELLO"u8))
        {
            (verb, expected) = (ZmqVerb.Hello, 2);
        }
        else if (verbFrame.SequenceEqual("CHUNK"u8))
        {
            (verb, expected) = (ZmqVerb.Chunk, 6);
        }
        else if (verbFrame.SequenceEqual("CLOSE"u8))
        {
            (verb, expected) = (ZmqVerb.Close, 3);
        }
        else
        {
            return ZmqParseResult.Invalid(ZmqErrors.UnknownVerb(verbFrame));
        }

        // HELLO may carry a third frame, the access token (a Ferry extension of the protocol; two-frame HELLOs stay valid).
        if (verb == ZmqVerb.Hello && frameCount == 3 && frames.Length >= 3)
        {
            expected = 3;
        }

        if (frameCount != expected || frames.Length < expected)
        {
            return ZmqParseResult.Invalid(ZmqErrors.FrameCount(verb, frameCount));
        }

        if (CheckFrameSizes(verb, frames) is { } sizeError)
        {
            return ZmqParseResult.Invalid(sizeError);
        }

        if (!TryFileName(frames[1].Span, out string fileName, out string? nameError))
        {
            return ZmqParseResult.Invalid(nameError!);
        }

        switch (verb)
        {
            case ZmqVerb.Hello:
                if (expected == 3)
                {
                    if (!TryToken(frames[2].Span, out string? token, out string? tokenError))
                    {
                        return ZmqParseResult.Invalid(tokenError!);
                    }

                    return ZmqParseResult.Valid(new ZmqRequest(ZmqVerb.Hello, fileName) { Token = token });
                }

                return ZmqParseResult.Valid(new ZmqRequest(ZmqVerb.Hello, fileName));

            case ZmqVerb.Close:
                if (!TryParseNumber(frames[2].Span, out long closeSize))
                {
                    return ZmqParseResult.Invalid(ZmqErrors.NotANumber("size", frames[2].Span));
                }

                return ZmqParseResult.Valid(new ZmqRequest(ZmqVerb.Close, fileName, size: closeSize));

            default:
                if (!TryParseNumber(frames[2].Span, out long offset))
                {
                    return ZmqParseResult.Invalid(ZmqErrors.NotANumber("offset", frames[2].Span));
                }

                if (!TryParseNumber(frames[3].Span, out long size))
                {
                    return ZmqParseResult.Invalid(ZmqErrors.NotANumber("size", frames[3].Span));
                }

                if (!Sha256Digest.TryParseLowerHex(frames[4].Span, out var checksum))
                {
                    return ZmqParseResult.Invalid(ZmqErrors.BadChecksumFormat(frames[4].Span));
                }

                if (size != frames[5].Length)
                {
                    return ZmqParseResult.Invalid(ZmqErrors.SizeMismatch(size, frames[5].Length));
                }

                return ZmqParseResult.Valid(new ZmqRequest(ZmqVerb.Chunk, fileName, offset, size, checksum, frames[5]));
        }
    }

    /// <summary>Parses <c>[0-9]{1,19}</c> with a value at most 2^63-1.</summary>
    public static bool TryParseNumber(ReadOnlySpan<byte> text, out long value)
    {
        value = 0;
        if (text.IsEmpty || text.Length > ZmqLimits.MaxNumberDigits)
        {
            return false;
        }

        ulong v = 0;
        foreach (byte c in text)
        {
            uint digit = (uint)(c - '0');
            if (digit > 9)
            {
                return false;
            }

            // 19 digits fit in a ulong without overflow (max 9999999999999999999 < 2^64).
            v = (v * 10) + digit;
        }

        if (v > long.MaxValue)
        {
            return false;
        }

        value = (long)v;
        return true;
    }

    private static string? CheckFrameSizes(ZmqVerb verb, ReadOnlySpan<ReadOnlyMemory<byte>> frames)
    {
        if (frames[1].Length > ZmqLimits.MaxFileNameBytes)
        {
            return ZmqErrors.FrameTooLarge(2, "filename", frames[1].Length, ZmqLimits.MaxFileNameBytes);
        }

        if (verb == ZmqVerb.Chunk && frames[5].Length > ZmqLimits.MaxChunkBytes)
        {
            return ZmqErrors.FrameTooLarge(6, "data", frames[5].Length, ZmqLimits.MaxChunkBytes);
        }

        return null;
    }

    /// <summary>The token frame: empty (anonymous) or 1..<see cref="ZmqLimits.MaxTokenBytes"/> printable ASCII characters.</summary>
    private static bool TryToken(ReadOnlySpan<byte> bytes, out string? token, out string? error)
    {
        token = null;
        error = null;
        if (bytes.IsEmpty)
        {
            return true;
        }

        if (bytes.Length > ZmqLimits.MaxTokenBytes)
        {
            error = ZmqErrors.FrameTooLarge(3, "token", bytes.Length, ZmqLimits.MaxTokenBytes);
            return false;
        }

        foreach (byte b in bytes)
        {
            if (b is < 0x21 or > 0x7e)
            {
                error = ZmqErrors.BadToken;
                return false;
            }
        }

        token = Encoding.ASCII.GetString(bytes);
        return true;
    }

    private static bool TryFileName(ReadOnlySpan<byte> bytes, out string fileName, out string? error)
    {
        fileName = string.Empty;
        error = null;
        if (bytes.IsEmpty)
        {
            error = ZmqErrors.EmptyFileName;
            return false;
        }

        if (!Utf8.IsValid(bytes))
        {
            error = ZmqErrors.FileNameNotUtf8;
            return false;
        }

        fileName = Encoding.UTF8.GetString(bytes);
        return true;
    }
}
