namespace Ferry.Protocol.Tftp;

/// <summary>
/// Converts local text (LF line ends) to netascii (RFC 764 NVT: LF becomes CR LF, a bare CR becomes CR NUL).
/// Streaming: an expansion cut by the end of the output is finished at the start of the next call, so every
/// output buffer can be filled completely.
/// </summary>
public sealed class NetasciiEncoder
{
    private int _pending = -1;

    /// <summary>True when a byte of an expansion is still waiting for output room.</summary>
    public bool HasPending => _pending >= 0;

    /// <summary>Encodes from <paramref name="input"/> into <paramref name="output"/>; returns bytes written.</summary>
    public int Encode(ReadOnlySpan<byte> input, Span<byte> output, out int consumed)
    {
        int o = 0;
        consumed = 0;
        if (_pending >= 0 && output.Length > 0)
        {
            output[o++] = (byte)_pending;
            _pending = -1;
        }

        while (consumed < input.Length && o < output.Length)
        {
            byte b = input[consumed++];
            if (b == (byte)'\n' || b == (byte)'\r')
            {
                output[o++] = (byte)'\r';
                byte second = b == (byte)'\n' ? (byte)'\n' : (byte)0;
                if (o < output.Length)
                {
                    output[o++] = second;
                }
                else
                {
                    _pending = second;
                }
            }
            else
            {
                output[o++] = b;
            }
        }

        return o;
    }
}
