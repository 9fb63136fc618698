using Ferry.Protocol.Common;
using Ferry.Protocol.Tcp;

namespace Ferry.Tests.Fuzz;

/// <summary>
/// A tcp:// byte stream as a connection reads it: preamble, then frame headers checked for the connection kind and
/// direction, then each payload through its parser (OPEN, ACCEPT, HAVE, ERROR, JOIN, JOINED, ACK, DATA range check, and the job
/// frames ENTRIES, STATUS, FILE_HASH, FILE_ABORT, FILE_RESULT).
/// Checks that accepted values obey the documented bounds.
/// </summary>
internal sealed class TcpFramesTarget : IFuzzInstance
{
    private const long FileSize = 1L << 40;

    public static FuzzTarget Target { get; } = new("tcp.frames", () => new TcpFramesTarget(), 1 << 20, 16 << 10);

    public IReadOnlyList<byte[]> Seeds { get; } = BuildSeeds();

    public bool Run(byte[] input, Random rng)
    {
        ReadOnlySpan<byte> s = input;
        if (TcpPreamble.TryRead(s, out var preamble) != TcpDecodeStatus.Ok)
        {
            return false;
        }

        s = s[TcpWire.PreambleLength..];
        int frames = 0;
        while (s.Length >= TcpWire.FrameHeaderLength)
        {
            var status = TcpFrameHeader.TryRead(s, preamble.Kind, fromClient: true, out var header);
            if (status == TcpDecodeStatus.UnexpectedType)
            {
                status = TcpFrameHeader.TryRead(s, preamble.Kind, fromClient: false, out header);
            }

            if (status != TcpDecodeStatus.Ok)
            {
                return false;
            }

            if (header.Length < 0 || header.Length > TcpWire.MaxPayload(header.Type))
            {
                throw new FuzzPropertyException($"header length {header.Length} out of bounds for {header.Type}");
            }

            s = s[TcpWire.FrameHeaderLength..];
            if (s.Length < header.Length)
            {
                // A truncated stream: the reader would wait for more bytes.
                return true;
            }

            if (!Payload(header.Type, s[..header.Length]))
            {
                return false;
            }

            s = s[header.Length..];
            if (++frames > input.Length)
            {
                throw new FuzzPropertyException("frame loop made no progress");
            }
        }

        return true;
    }

    private static bool Payload(TcpFrameType type, ReadOnlySpan<byte> p)
    {
        switch (type)
        {
            case TcpFrameType.Open:
                if (TcpOpenRequest.TryRead(p, out var open) != TcpDecodeStatus.Ok)
                {
                    return false;
                }

                bool job = open.Operation is TcpOperation.JobPut or TcpOperation.JobGet;
                if ((open.Path.Length == 0 && open.Operation is not (TcpOperation.List or TcpOperation.JobPut or TcpOperation.JobGet))
                    || (job && (open.Path.Length != 0 || open.Size is < 1 or > TcpWire.MaxJobEntries || open.Source is not null || open.Mode is not null || open.UploadKey is not null))
                    || System.Text.Encoding.UTF8.GetByteCount(open.Path) > TcpWire.MaxPathBytes || open.Size < 0 || open.RequestedStreams == 0)
                {
                    throw new FuzzPropertyException("OPEN accepted with fields out of bounds");
                }

                return true;
            case TcpFrameType.Accept:
                if (TcpAcceptReply.TryRead(p, out var accept) != TcpDecodeStatus.Ok)
                {
                    return false;
                }

                if (!TcpWire.IsValidBlockSize(accept!.BlockSize) || accept.Present.Count > TcpWire.MaxRanges
                    || (!accept.Present.IsEmpty && (accept.Present.First.Start < 0 || accept.Present.Last.End > accept.FileSize)))
                {
                    throw new FuzzPropertyException("ACCEPT accepted with fields out of bounds");
                }

                return true;
            case TcpFrameType.Have:
                if (TcpRangeList.TryRead(p, FileSize, out var have) != TcpDecodeStatus.Ok)
                {
                    return false;
                }

                CheckRanges(have);
                return true;
            case TcpFrameType.Error:
                return TcpErrorFrame.TryRead(p, out _) == TcpDecodeStatus.Ok;
            case TcpFrameType.Join:
                return TcpSmallFrames.TryReadJoin(p, out _, out _) == TcpDecodeStatus.Ok;
            case TcpFrameType.Joined:
                return TcpSmallFrames.TryReadJoined(p, out _) == TcpDecodeStatus.Ok;
            case TcpFrameType.Ack:
                if (TcpSmallFrames.TryReadAck(p, out long offset, out int length) != TcpDecodeStatus.Ok)
                {
                    return false;
                }

                if (offset < 0 || length <= 0 || length > TcpWire.MaxBlockSize)
                {
                    throw new FuzzPropertyException("ACK accepted with fields out of bounds");
                }

                return true;
            case TcpFrameType.Entries:
                var entries = new List<TcpJobEntry>();
                if (TcpJobFrames.TryReadEntries(p, TcpWire.MaxJobEntries, entries) != TcpDecodeStatus.Ok)
                {
                    return false;
                }

                if (entries.Count == 0 || entries.Any(e => e.Type is not (1 or 2) || e.Mode > TcpWire.MaxMode || e.Size < 0 || (e.Type == 2 && e.Size != 0)
                    || e.Path.Length == 0 || System.Text.Encoding.UTF8.GetByteCount(e.Path) > TcpWire.MaxPathBytes))
                {
                    throw new FuzzPropertyException("ENTRIES accepted with fields out of bounds");
                }

                return true;
            case TcpFrameType.Status:
                var statuses = new List<TcpEntryStatus>();
                if (TcpJobFrames.TryReadStatus(p, TcpWire.MaxJobEntries, statuses) != TcpDecodeStatus.Ok)
                {
                    return false;
                }

                if (statuses.Count == 0 || statuses.Where((st, i) => st.Index != i || st.Size < 0).Any())
                {
                    throw new FuzzPropertyException("STATUS accepted out of order or out of bounds");
                }

                return true;
            case TcpFrameType.FileHash:
                return TcpJobFrames.TryReadFileHash(p, TcpWire.MaxJobEntries, out _, out _) == TcpDecodeStatus.Ok;
            case TcpFrameType.FileAbort or TcpFrameType.FileResult:
                if (TcpJobFrames.TryReadOutcome(p, TcpWire.MaxJobEntries, out var outcome) != TcpDecodeStatus.Ok)
                {
                    return false;
                }

                if (outcome.Index < 0 || outcome.Index >= TcpWire.MaxJobEntries)
                {
                    throw new FuzzPropertyException("FILE_ABORT / FILE_RESULT accepted with an index out of bounds");
                }

                return true;
            case TcpFrameType.Data:
                long dataOffset = TcpSmallFrames.ReadDataOffset(p);
                return TcpSmallFrames.IsValidDataRange(dataOffset, p.Length - TcpWire.DataPrefixLength, FileSize, TcpWire.DefaultBlockSize);
            default:
                return true;
        }
    }

    private static int Copy(byte[] destination, byte[] frame)
    {
        frame.CopyTo(destination, 0);
        return frame.Length;
    }

    private static void CheckRanges(RangeSet set)
    {
        if (set.Count > TcpWire.MaxRanges || (!set.IsEmpty && (set.First.Start < 0 || set.Last.End > FileSize)))
        {
            throw new FuzzPropertyException("range list accepted out of bounds");
        }
    }

    private static List<byte[]> BuildSeeds()
    {
        var have = new RangeSet();
        have.Add(0, 4096);
        have.Add(1 << 20, 2 << 20);
        var buffer = new byte[64 << 10];

        byte[] Stream(TcpConnectionKind kind, params Func<byte[], int>[] writers)
        {
            int pos = TcpPreamble.Write(buffer, kind);
            foreach (var w in writers)
            {
                var frame = new byte[8192];
                int n = w(frame);
                frame.AsSpan(0, n).CopyTo(buffer.AsSpan(pos));
                pos += n;
            }

            return buffer[..pos];
        }

        var sha = new byte[32];
        var data = new byte[300];
        new Random(3).NextBytes(data);
        var session = new TcpSessionId(0x0102030405060708, 0x1112131415161718);
        return
        [
            Stream(TcpConnectionKind.Control,
                b => new TcpOpenRequest(TcpOperation.Put, "dir/file.bin", 4, 123456, new TcpFileVersion(123456, 1700000000000)).Write(b),
                b => TcpSmallFrames.WriteHave(b, have),
                b => TcpSmallFrames.WriteHash(b, sha),
                b => TcpSmallFrames.WriteDone(b)),
            Stream(TcpConnectionKind.Control,
                b => new TcpOpenRequest(TcpOperation.Get, "a.txt", 1, 0, null).Write(b)),
            Stream(TcpConnectionKind.Control,
                b => new TcpOpenRequest(TcpOperation.JobPut, string.Empty, 2, 2, null).Write(b),
                b =>
                {
                    int next = 0;
                    return Copy(b, TcpJobFrames.WriteEntries([new TcpJobEntry(1, 0x1A4, 10, 5, "d/a b"), new TcpJobEntry(2, 0x1ED, 0, 6, "d")], ref next));
                },
                b => Copy(b, TcpJobFrames.WriteFileHash(0, sha)),
                b => Copy(b, TcpJobFrames.WriteOutcome(TcpFrameType.FileAbort, new TcpFileOutcome(1, 7, "gone")))),
            Stream(TcpConnectionKind.Control,
                b =>
                {
                    int next = 0;
                    return Copy(b, TcpJobFrames.WriteStatus([new TcpEntryStatus(0, 0, 10, 5, string.Empty), new TcpEntryStatus(1, 42, 0, 0, "no")], ref next));
                },
                b => Copy(b, TcpJobFrames.WriteOutcome(TcpFrameType.FileResult, new TcpFileOutcome(0, 0, string.Empty)))),
            Stream(TcpConnectionKind.Control,
                b => new TcpAcceptReply(session, TcpWire.DefaultBlockSize, 4, 1L << 30, new TcpFileVersion(1L << 30, 5), have).Write(b),
                b => TcpSmallFrames.WriteHash(b, sha),
                b => new TcpErrorFrame(TcpErrorCode.NotFound, "no such file").Write(b)),
            Stream(TcpConnectionKind.Data,
                b => TcpSmallFrames.WriteJoin(b, session, 3),
                b =>
                {
                    int n = TcpSmallFrames.WriteDataHeader(b, 4096, data.Length);
                    data.CopyTo(b.AsSpan(n));
                    return n + data.Length;
                },
                b => TcpSmallFrames.WriteAck(b, 4096, data.Length),
                b => TcpSmallFrames.WriteJoined(b, 3)),
        ];
    }
}
