namespace Ferry.Protocol.Udp.Recovery;

/// <summary>
/// Packets sent and not yet resolved, indexed by packet number. Packet numbers are dense and increasing,
/// so this is a growable ring buffer: O(1) insert and lookup, with resolved packets trimmed from the front.
/// </summary>
public sealed class SentPacketLedger
{
    private SentPacket[] _ring = new SentPacket[256];
    private int _head;      // index of packet number _base
    private int _count;     // packets from _base to _base + _count - 1

    /// <summary>Lowest packet number still held.</summary>
    public ulong Base { get; private set; }

    /// <summary>One past the highest packet number held.</summary>
    public ulong End => Base + (ulong)_count;

    public int Count => _count;

    /// <summary>Records a sent packet; its number must be <see cref="End"/> (or the ledger must be empty).</summary>
    public void Add(in SentPacket packet)
    {
        if (_count == 0)
        {
            Base = packet.Number;
        }
        else if (packet.Number != End)
        {
            // A gap: packets that were not recorded (not ack-eliciting). Fill with resolved placeholders.
            while (End < packet.Number)
            {
                Append(new SentPacket { Number = End, State = SentPacketState.Acknowledged });
            }
        }

        Append(packet);
    }

    public bool Contains(ulong number) => number >= Base && number < End;

    /// <summary>A reference to the record of <paramref name="number"/>; the caller checks <see cref="Contains"/>.</summary>
    public ref SentPacket this[ulong number] => ref _ring[(_head + (int)(number - Base)) & (_ring.Length - 1)];

    /// <summary>Drops resolved packets from the front.</summary>
    public void TrimFront()
    {
        while (_count > 0 && !_ring[_head].Outstanding)
        {
            _head = (_head + 1) & (_ring.Length - 1);
            _count--;
            Base++;
        }

        if (_count == 0)
        {
            _head = 0;
        }
    }

    private void Append(in SentPacket packet)
    {
        if (_count == _ring.Length)
        {
            var bigger = new SentPacket[_ring.Length * 2];
            for (int i = 0; i < _count; i++)
            {
                bigger[i] = _ring[(_head + i) & (_ring.Length - 1)];
            }

            _ring = bigger;
            _head = 0;
        }

        _ring[(_head + _count) & (_ring.Length - 1)] = packet;
        _count++;
    }
}
