using Ferry.Protocol.Common;

namespace Ferry.Protocol.Relay;

/// <summary>Relay-specific field rules on top of the shared <see cref="SpanReader"/>.</summary>
internal static class RelayReads
{
    /// <summary>A sequence number: a u64 that must stay far from overflow (at most long.MaxValue / 2).</summary>
    public static bool TryReadSeq(this ref SpanReader reader, out long value)
    {
        value = 0;
        if (!reader.TryReadUInt64(out ulong raw) || raw > long.MaxValue / 2)
        {
            return false;
        }

        value = (long)raw;
        return true;
    }
}
