using Ferry.Protocol.Common;
using Ferry.Protocol.Relay;

namespace Ferry.Tests.Fuzz;

/// <summary>
/// RelayWire.TryOpen and every body decoder (REGISTER, REGISTERED, REFUSED, POST, DELIVER, ACK, u64 bodies), on the
/// raw input and on a copy whose CRC was repaired. Checks decoded values against the documented limits.
/// </summary>
internal sealed class RelayCodecTarget : IFuzzInstance
{
    private readonly List<string> _lines = new();
    private readonly List<RelayMessage> _messages = new();
    private readonly List<ByteRange> _ranges = new();

    public static FuzzTarget Target { get; } = new("relay.codec", () => new RelayCodecTarget(), 64 << 10, 2 * RelayWire.MaxDatagram);

    public IReadOnlyList<byte[]> Seeds { get; } = RelaySeeds.All(0x5E55);

    public bool Run(byte[] input, Random rng)
    {
        bool ok = Decode(input);
        return Decode(RelaySeeds.FixUp(input, rng, 0x5E55)) || ok;
    }

    private bool Decode(ReadOnlySpan<byte> datagram)
    {
        if (RelayWire.TryOpen(datagram, out var type, out _, out var body) != RelayDatagramStatus.Ok)
        {
            return false;
        }

        switch (type)
        {
            case RelayPacketType.Register:
                if (!RelayCodec.TryReadRegister(body, out var reg))
                {
                    return false;
                }

                if (System.Text.Encoding.UTF8.GetByteCount(reg!.Name) > RelayWire.MaxNameBytes || reg.Token.Length > RelayWire.MaxTokenBytes || reg.SinceValue < 0)
                {
                    throw new FuzzPropertyException("REGISTER accepted out of bounds");
                }

                return true;
            case RelayPacketType.Registered:
                return RelayCodec.TryReadRegistered(body, out _);
            case RelayPacketType.Refused:
                return RelayCodec.TryReadRefused(body, out _, out _, out _);
            case RelayPacketType.Post:
                if (!RelayCodec.TryReadPost(body, out long first, _lines))
                {
                    return false;
                }

                if (first < 0 || _lines.Count == 0 || _lines.Any(l => System.Text.Encoding.UTF8.GetByteCount(l) > RelayWire.MaxTextBytes))
                {
                    throw new FuzzPropertyException("POST accepted out of bounds");
                }

                return true;
            case RelayPacketType.Deliver:
                if (!RelayCodec.TryReadDeliver(body, out long firstSeq, out bool pruned, out int count, _messages))
                {
                    return false;
                }

                if (firstSeq <= 0 || count <= 0 || (!pruned && _messages.Count != count))
                {
                    throw new FuzzPropertyException("DELIVER accepted out of bounds");
                }

                return true;
            case RelayPacketType.Ack:
                if (!RelayCodec.TryReadAck(body, out long next, out _, _ranges))
                {
                    return false;
                }

                long floor = next;
                foreach (var r in _ranges)
                {
                    if (r.Start <= floor || r.End <= r.Start)
                    {
                        throw new FuzzPropertyException("ACK ranges not ascending above next");
                    }

                    floor = r.End;
                }

                return _ranges.Count <= RelayWire.MaxAckRanges ? true : throw new FuzzPropertyException("too many ACK ranges");
            case RelayPacketType.PostAck or RelayPacketType.Pong:
                return RelayCodec.TryReadU64(body, out _);
            default:
                return true;
        }
    }
}
