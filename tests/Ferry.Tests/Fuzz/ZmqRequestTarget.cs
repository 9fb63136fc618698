using System.Security.Cryptography;
using System.Text;
using Ferry.Protocol.Udp.Wire;
using Ferry.Protocol.Zmq;

namespace Ferry.Tests.Fuzz;

/// <summary>
/// zmq:// request messages: the input is a list of frames (each a varint length then its bytes; the last frame
/// takes what is left), cut to <see cref="ZmqLimits.MaxKeptFrames"/> kept frames as the socket loop does. Parsed
/// with ZmqRequestParser, then valid requests drive one ZmqUploadSession and the reply sequencer with a fake clock,
/// writes and commits succeeding. Half the CHUNKs get their size and checksum repaired so they reach the rules.
/// </summary>
internal sealed class ZmqRequestTarget : IFuzzInstance
{
    private readonly ZmqUploadSession _session = new("f", TimeSpan.FromSeconds(30), maxFileSize: 1L << 30);
    private readonly ZmqReplySequencer<string, ZmqReply> _sequencer = new();
    private readonly List<ZmqReply> _released = new();
    private TimeSpan _now = TimeSpan.FromSeconds(1000);

    public static FuzzTarget Target { get; } = new("zmq.request", () => new ZmqRequestTarget(), 256 << 10, 16 << 10);

    public IReadOnlyList<byte[]> Seeds { get; } = BuildSeeds();

    public bool Run(byte[] input, Random rng)
    {
        var frames = Split(input, out int frameCount);
        if (frames.Count >= 6 && frames[0].Span.SequenceEqual("CHUNK"u8) && rng.Next(2) == 0)
        {
            var data = frames[5];
            frames[3] = Encoding.ASCII.GetBytes(data.Length.ToString(System.Globalization.CultureInfo.InvariantCulture));
            frames[4] = Encoding.ASCII.GetBytes(Convert.ToHexStringLower(SHA256.HashData(data.Span)));
            if (rng.Next(2) == 0)
            {
                frames[1] = "f"u8.ToArray();
            }
        }

        var result = ZmqRequestParser.Parse(frames.ToArray(), frameCount);
        if (!result.IsValid)
        {
            if (result.Error!.Length > 8192)
            {
                throw new FuzzPropertyException($"error text of {result.Error.Length} chars");
            }

            return false;
        }

        var request = result.Request;
        if (request.FileName.Length == 0 || Encoding.UTF8.GetByteCount(request.FileName) > ZmqLimits.MaxFileNameBytes || request.Size < 0 || request.Offset < 0)
        {
            throw new FuzzPropertyException("request accepted out of bounds");
        }

        _now += TimeSpan.FromMilliseconds(rng.Next(100));
        _session.OnTimeout(_now);
        if (request.FileName != "f" || !_sequencer.TryArrive("client", out var arrival, out bool overLimit))
        {
            return true;
        }

        ZmqReply reply = overLimit ? ZmqReply.Fail("busy") : Step(request, arrival);
        _released.Clear();
        _sequencer.Complete("client", arrival.Sequence, reply, _released);
        return true;
    }

    private ZmqReply Step(in ZmqRequest request, ZmqArrival arrival)
    {
        switch (request.Verb)
        {
            case ZmqVerb.Hello:
                var hello = _session.OnHello(_now, arrival);
                return hello.Kind == ZmqStepKind.AcquireFile ? _session.OnHelloResult(_now, null) : hello.Reply;
            case ZmqVerb.Chunk:
                var chunk = _session.OnChunk(_now, arrival, request.Offset, request.Checksum, request.Data.Span);
                return chunk.Kind == ZmqStepKind.Write ? _session.OnChunkWritten(_now, request.Offset, request.Size, null) : chunk.Reply;
            default:
                var close = _session.OnClose(_now, arrival, request.Size);
                return close.Kind == ZmqStepKind.Commit ? _session.OnCloseResult(_now, null) : close.Reply;
        }
    }

    private static List<ReadOnlyMemory<byte>> Split(byte[] input, out int frameCount)
    {
        var frames = new List<ReadOnlyMemory<byte>>();
        frameCount = 0;
        int pos = 0;
        while (pos < input.Length)
        {
            int n = VarInt.Read(input.AsSpan(pos), out ulong length);
            if (n == 0)
            {
                break;
            }

            pos += n;
            int take = (int)Math.Min(length, (ulong)(input.Length - pos));
            if (frames.Count < ZmqLimits.MaxKeptFrames)
            {
                frames.Add(input.AsMemory(pos, take));
            }

            frameCount++;
            pos += take;
        }

        return frames;
    }

    /// <summary>Encodes frames in the target's input format.</summary>
    public static byte[] Join(params byte[][] frames)
    {
        var output = new List<byte>();
        Span<byte> v = stackalloc byte[8];
        foreach (var f in frames)
        {
            output.AddRange(v[..VarInt.Write(v, (ulong)f.Length)].ToArray());
            output.AddRange(f);
        }

        return output.ToArray();
    }

    private static List<byte[]> BuildSeeds()
    {
        var data = new byte[1000];
        new Random(9).NextBytes(data);
        byte[] Chunk(long offset, byte[] d) => Join("CHUNK"u8.ToArray(), "f"u8.ToArray(), Ascii(offset), Ascii(d.Length),
            Encoding.ASCII.GetBytes(Convert.ToHexStringLower(SHA256.HashData(d))), d);
        return
        [
            Join("HELLO"u8.ToArray(), "f"u8.ToArray()),
            Chunk(0, data),
            Chunk(1000, data[..10]),
            Join("CLOSE"u8.ToArray(), "f"u8.ToArray(), Ascii(1010)),
            Join("HELLO"u8.ToArray(), "dir/other name.txt"u8.ToArray()),
        ];
    }

    private static byte[] Ascii(long value) => Encoding.ASCII.GetBytes(value.ToString(System.Globalization.CultureInfo.InvariantCulture));
}
