namespace Ferry.Protocol.Security;

/// <summary>
/// A sliding replay window over 64-bit counters (as in IPsec and WireGuard): a counter is accepted once, and
/// not at all when it is more than <see cref="Size"/> below the highest accepted one.
/// </summary>
public sealed class ReplayWindow
{
    public const int Size = 1024;
    private readonly ulong[] _bits = new ulong[Size / 64];
    private ulong _highest;
    private bool _any;

    /// <summary>True when <paramref name="counter"/> is new and recent enough (nothing changes until <see cref="Accept"/>).</summary>
    public bool MayAccept(ulong counter)
    {
        if (!_any || counter > _highest)
        {
            return true;
        }

        if (_highest - counter >= Size)
        {
            return false;
        }

        return (_bits[(counter / 64) % (Size / 64)] & (1UL << (int)(counter % 64))) == 0;
    }

    /// <summary>Records <paramref name="counter"/> (call after the datagram authenticated).</summary>
    public void Accept(ulong counter)
    {
        if (!_any)
        {
            _any = true;
            _highest = counter;
        }
        else if (counter > _highest)
        {
            // Clear the words the window slides over.
            ulong fromWord = _highest / 64 + 1;
            ulong toWord = counter / 64;
            for (ulong w = fromWord; w <= toWord && w - fromWord < Size / 64; w++)
            {
                _bits[w % (Size / 64)] = 0;
            }

            _highest = counter;
        }

        _bits[(counter / 64) % (Size / 64)] |= 1UL << (int)(counter % 64);
    }
}
