using System.Globalization;

namespace Ferry.Protocol.Tftp;

/// <summary>
/// RFC 2347 option negotiation for both roles. Unknown options are ignored by the server (left out of the OACK);
/// out-of-range values are ignored or clamped as the option RFCs allow; a client refuses an OACK that grants
/// something it did not ask for.
/// </summary>
public static class TftpNegotiation
{
    /// <summary>
    /// Server side: picks the parameters and the OACK for <paramref name="request"/>.
    /// <paramref name="readSize"/> is the size reported for tsize on a read (null: unknown, tsize left out).
    /// </summary>
    public static TftpServerNegotiation NegotiateServer(TftpRequest request, TftpServerPolicy policy, long? readSize)
    {
        int blockSize = TftpLimits.DefaultBlockSize;
        int windowSize = 1;
        long timeout = policy.DefaultTimeoutMicros;
        long? size = null;
        var oack = new List<TftpOption>();
        var seen = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (var option in request.Options)
        {
            // RFC 2347 does not define repeated options; the first one counts.
            if (!seen.Add(option.Name))
            {
                continue;
            }

            bool numeric = option.TryGetNumber(out long value);
            if (option.Is(TftpOption.BlockSize))
            {
                // Below 8 is not a valid request: ignore the option (classic 512). Above our maximum: grant the maximum.
                if (numeric && value >= TftpLimits.MinBlockSize)
                {
                    blockSize = (int)Math.Min(value, policy.MaxBlockSize);
                    oack.Add(new TftpOption(TftpOption.BlockSize, Text(blockSize)));
                }
            }
            else if (option.Is(TftpOption.WindowSize))
            {
                if (numeric && value >= 1 && value <= TftpLimits.MaxWindowSize)
                {
                    windowSize = (int)Math.Min(value, policy.MaxWindowSize);
                    oack.Add(new TftpOption(TftpOption.WindowSize, Text(windowSize)));
                }
            }
            else if (option.Is(TftpOption.Timeout))
            {
                // RFC 2349: the server must echo the same value or leave the option out. Long timeouts are left out:
                // they would let a silent client hold a session (and a write's path) for up to an hour.
                if (numeric && value >= TftpLimits.MinTimeoutSeconds && value <= Math.Min(TftpLimits.MaxTimeoutSeconds, policy.MaxTimeoutSeconds))
                {
                    timeout = value * 1_000_000;
                    oack.Add(new TftpOption(TftpOption.Timeout, Text(value)));
                }
            }
            else if (option.Is(TftpOption.TransferSize))
            {
                if (!numeric)
                {
                    continue;
                }

                if (request.IsRead)
                {
                    // The client sends 0 and the server answers with the size, when it knows it.
                    if (readSize is long s)
                    {
                        size = s;
                        oack.Add(new TftpOption(TftpOption.TransferSize, Text(s)));
                    }
                }
                else
                {
                    if (policy.MaxWriteSize is long max && value > max)
                    {
                        return new TftpServerNegotiation(TftpTransferParameters.Default, Array.Empty<TftpOption>(),
                            TftpErrorCode.DiskFull, $"file too large ({value} bytes, limit {max})");
                    }

                    size = value;
                    oack.Add(new TftpOption(TftpOption.TransferSize, Text(value)));
                }
            }

            // Anything else is an option we do not know: RFC 2347 says to ignore it.
        }

        var parameters = new TftpTransferParameters(blockSize, windowSize, timeout, size);
        return new TftpServerNegotiation(parameters, oack, null, null);
    }

    /// <summary>
    /// Client side: the options to put in a request. <paramref name="transferSize"/> is 0 for a read (asking the
    /// server for the size) or the file size for a write. Null values are not requested.
    /// </summary>
    public static IReadOnlyList<TftpOption> ClientOptions(int? blockSize, int? windowSize, int? timeoutSeconds, long? transferSize)
    {
        var list = new List<TftpOption>(4);
        if (blockSize is int b)
        {
            list.Add(new TftpOption(TftpOption.BlockSize, Text(b)));
        }

        if (windowSize is int w)
        {
            list.Add(new TftpOption(TftpOption.WindowSize, Text(w)));
        }

        if (timeoutSeconds is int t)
        {
            list.Add(new TftpOption(TftpOption.Timeout, Text(t)));
        }

        if (transferSize is long s)
        {
            list.Add(new TftpOption(TftpOption.TransferSize, Text(s)));
        }

        return list;
    }

    /// <summary>
    /// Client side: validates an OACK against the <paramref name="requested"/> options. Options absent from the OACK
    /// keep their RFC 1350 defaults (and <paramref name="localTimeoutMicros"/>). False with a reason when the OACK
    /// grants an option not asked for, a larger block or window than asked, or a malformed value.
    /// </summary>
    public static bool TryAcceptOack(IReadOnlyList<TftpOption> requested, IReadOnlyList<TftpOption> oack, bool isRead, long localTimeoutMicros,
        out TftpTransferParameters parameters, out string? error)
    {
        int blockSize = TftpLimits.DefaultBlockSize;
        int windowSize = 1;
        long timeout = localTimeoutMicros;
        long? size = null;
        parameters = default;
        foreach (var option in oack)
        {
            if (TftpRequest.FindOption(requested, option.Name) is not TftpOption asked)
            {
                error = $"server granted option '{option.Name}' that was not requested";
                return false;
            }

            if (!option.TryGetNumber(out long value))
            {
                error = $"server sent a malformed value for '{option.Name}': '{option.Value}'";
                return false;
            }

            asked.TryGetNumber(out long askedValue);
            if (option.Is(TftpOption.BlockSize))
            {
                if (value < TftpLimits.MinBlockSize || value > askedValue)
                {
                    error = $"server granted blksize {value}, outside {TftpLimits.MinBlockSize}..{askedValue}";
                    return false;
                }

                blockSize = (int)value;
            }
            else if (option.Is(TftpOption.WindowSize))
            {
                if (value < 1 || value > askedValue)
                {
                    error = $"server granted windowsize {value}, outside 1..{askedValue}";
                    return false;
                }

                windowSize = (int)value;
            }
            else if (option.Is(TftpOption.Timeout))
            {
                if (value < TftpLimits.MinTimeoutSeconds || value > TftpLimits.MaxTimeoutSeconds)
                {
                    error = $"server granted timeout {value}, outside {TftpLimits.MinTimeoutSeconds}..{TftpLimits.MaxTimeoutSeconds}";
                    return false;
                }

                timeout = value * 1_000_000;
            }
            else if (option.Is(TftpOption.TransferSize))
            {
                size = isRead ? value : askedValue;
            }
        }

        parameters = new TftpTransferParameters(blockSize, windowSize, timeout, size);
        error = null;
        return true;
    }

    private static string Text(long value) => value.ToString(CultureInfo.InvariantCulture);
}
