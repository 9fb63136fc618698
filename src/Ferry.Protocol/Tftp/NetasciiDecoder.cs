namespace Ferry.Protocol.Tftp;

/// <summary>
/// Converts netascii to local text: CR LF becomes LF, CR NUL becomes CR. A CR followed by anything else is kept as
/// is (lenient toward sloppy senders). A CR at the end of one input is held until the next input or
/// <see cref="Finish"/>, since its meaning depends on the byte after it.
/// </summary>
public sealed class NetasciiDecoder
{
    private bool _pendingCr;

    /// <summary>Decodes <paramref name="input"/>; <paramref name="output"/> needs input length + 1 bytes. Returns bytes written.</summary>
    public int Decode(ReadOnlySpan<byte> input, Span<byte> output)
    {
        int o = 0;
        foreach (byte b in input)
        {
            if (_pendingCr)
            {
                _pendingCr = false;
                if (b == (byte)'\n')
                {
                    output[o++] = (byte)'\n';
                    continue;
                }

                output[o++] = (byte)'\r';
                if (b == 0)
                {
                    continue;
                }
            }

            if (b == (byte)'\r')
            {
                _pendingCr = true;
            }
            else
            {
                output[o++] = b;
            }
        }

        return o;
    }

    /// <summary>Flushes a trailing CR; returns bytes written (0 or 1).</summary>
    public int Finish(Span<byte> output)
    {
        if (!_pendingCr)
        {
            return 0;
        }

        _pendingCr = false;
        output[0] = (byte)'\r';
        return 1;
    }
}
