using System.Security.Cryptography;
using Ferry.Protocol.Common;
using Ferry.Protocol.Jobs;
using Ferry.Protocol.Tcp;
using Ferry.Protocol.Udp;
using Ferry.Protocol.Udp.Wire;
using Ferry.Tests.Udp.Sim;

namespace Ferry.Tests.Udp;

/// <summary>
/// A job of many files in one connection over the simulated network, at the protocol level: the manifest, statuses,
/// hashes and results on the control streams (the job frames' encodings), the files as one job byte space, and a
/// receiver that holds at most a few files open (its MAX_DATA stops at them). Every file byte-identical, nothing
/// written twice, bounded steps.
/// </summary>
public class UdpJobSimTests
{
    public static TheoryData<string> Conditions => new() { "clean", "loss5", "burst", "reorder", "duplicate", "corrupt", "everything" };

    private static LinkConfig Link(string condition) => condition switch
    {
        "clean" => new LinkConfig { Delay = 500 },
        "loss5" => new LinkConfig { Delay = 10_000, Loss = 0.05 },
        "burst" => new LinkConfig { Delay = 10_000, BurstEnter = 0.02, BurstLeave = 0.2, BurstLoss = 1.0 },
        "reorder" => new LinkConfig { Delay = 5_000, Jitter = 4_000 },
        "duplicate" => new LinkConfig { Delay = 5_000, Duplicate = 0.2 },
        "corrupt" => new LinkConfig { Delay = 5_000, Corrupt = 0.1 },
        "everything" => new LinkConfig { Delay = 20_000, Jitter = 5_000, Loss = 0.05, Duplicate = 0.05, Corrupt = 0.05, RateBps = 50_000_000, QueuePackets = 300 },
        _ => throw new ArgumentException(condition),
    };

    [Theory]
    [MemberData(nameof(Conditions))]
    public void A_job_of_many_small_files_and_a_few_large_ones_arrives_whole(string condition)
    {
        var rng = new Random(5);
        var sizes = Enumerable.Range(0, 400).Select(i => i % 7 == 0 ? 0L : rng.Next(1, 24_000)).Concat([400_000L, 300_001L]).ToArray();
        var layout = new JobLayout(sizes);
        var job = new byte[layout.TotalSize];
        rng.NextBytes(job);
        var hashes = Enumerable.Range(0, sizes.Length).Select(i => SHA256.HashData(job.AsSpan((int)layout.Start(i), (int)sizes[i]))).ToArray();
        var manifest = sizes.Select((s, i) => new TcpJobEntry(TcpJobEntry.FileType, 0x1A4, s, 0, $"d/f{i}")).ToList();

        var sim = new SimTransfer(seed: 31, Link(condition), Link(condition));
        var sink = new LimitedSink(layout, maxOpen: 16);
        var serverReader = new JobFrameReader(fromClient: true);
        var serverEntries = new List<TcpJobEntry>();
        var serverHashes = new byte[sizes.Length][];
        int resolved = 0;
        bool doneSent = false;
        Connection? serverConnection = null;
        sim.ServerAppOverride = (c, ev) =>
        {
            if (ev.Kind == ConnectionEventKind.RequestReceived)
            {
                Assert.Equal(TransferOp.JobPut, ev.Op);
                Assert.Equal(sizes.Length, ev.Size);
                serverConnection = c;
            }

            if (ev.Kind != ConnectionEventKind.StreamData)
            {
                return;
            }

            serverReader.Append(ev.StreamBytes);
            TcpDecodeStatus status;
            while (serverReader.TryRead(out var type, out var payload, out status))
            {
                if (serverEntries.Count < sizes.Length)
                {
                    Assert.Equal(TcpDecodeStatus.Ok, TcpJobFrames.TryReadEntries(payload, sizes.Length - serverEntries.Count, serverEntries));
                    if (serverEntries.Count == sizes.Length)
                    {
                        var statuses = serverEntries.Select((e, i) => new TcpEntryStatus(i, 0, e.Size, e.MtimeUnixMs, string.Empty)).ToList();
                        for (int sent = 0; sent < statuses.Count;)
                        {
                            c.WriteStream(TcpJobFrames.WriteStatus(statuses, ref sent));
                        }

                        c.AcceptJob(layout.TotalSize, null, sink, null);
                    }

                    continue;
                }

                Assert.Equal(TcpFrameType.FileHash, type);
                Assert.Equal(TcpDecodeStatus.Ok, TcpJobFrames.TryReadFileHash(payload, sizes.Length, out int index, out byte[] hash));
                Assert.Null(serverHashes[index]);
                serverHashes[index] = hash;
            }

            Assert.Equal(TcpDecodeStatus.Ok, status);
        };

        var client = Connection.CreateJobClient(sim.ClientConfig, sim.NextClientId(), TransferOp.JobPut, sizes.Length, sim.Now);
        for (int next = 0; next < manifest.Count;)
        {
            client.WriteStream(TcpJobFrames.WriteEntries(manifest, ref next));
        }

        var clientReader = new JobFrameReader(fromClient: false);
        var clientStatuses = new List<TcpEntryStatus>();
        int results = 0, hashesSent = 0;
        bool accepted = false, started = false, done = false;
        sim.ClientAppOverride = (c, ev) =>
        {
            switch (ev.Kind)
            {
                case ConnectionEventKind.ServerKeyReceived:
                    c.ConfirmServerKey();
                    break;
                case ConnectionEventKind.Accepted:
                    Assert.Equal(layout.TotalSize, ev.Size);
                    accepted = true;
                    break;
                case ConnectionEventKind.StreamData:
                    clientReader.Append(ev.StreamBytes);
                    while (clientReader.TryRead(out var type, out var payload, out _))
                    {
                        if (clientStatuses.Count < sizes.Length)
                        {
                            Assert.Equal(TcpDecodeStatus.Ok, TcpJobFrames.TryReadStatus(payload, sizes.Length, clientStatuses));
                        }
                        else if (type == TcpFrameType.FileResult)
                        {
                            Assert.Equal(TcpDecodeStatus.Ok, TcpJobFrames.TryReadOutcome(payload, sizes.Length, out var outcome));
                            Assert.Equal(0, outcome.Code);
                            results++;
                        }
                        else
                        {
                            Assert.Equal(TcpFrameType.Done, type);
                            Assert.Equal(sizes.Length, results);
                            done = true;
                            c.FinishJob(sim.Now);
                        }
                    }

                    break;
            }
        };
        sim.OnStep = s =>
        {
            if (!started && accepted && clientStatuses.Count == sizes.Length && client.State == ConnectionState.Established)
            {
                started = true;
                client.StartSendingJob(new MemorySource(job));
            }

            // The hasher lags behind the data: one FILE_HASH per step.
            if (started && hashesSent < sizes.Length)
            {
                client.WriteStream(TcpJobFrames.WriteFileHash(hashesSent, hashes[hashesSent]));
                hashesSent++;
            }

            // The server resolves files (verified, in order here) and answers FILE_RESULT; the sink's limit moves.
            if (serverConnection is { State: ConnectionState.Established } sc)
            {
                while (resolved < sizes.Length && serverHashes[resolved] is { } h && sink.Holds(resolved))
                {
                    Assert.Equal(h, SHA256.HashData(sink.Data.AsSpan((int)layout.Start(resolved), (int)sizes[resolved])));
                    sc.WriteStream(TcpJobFrames.WriteOutcome(TcpFrameType.FileResult, new TcpFileOutcome(resolved, 0, string.Empty)));
                    resolved++;
                    sink.Resolved = resolved;
                }

                sc.RefreshFlowLimit();
                if (resolved == sizes.Length && !doneSent)
                {
                    doneSent = true;
                    var d = new byte[TcpSmallFrames.DoneFrameLength];
                    TcpSmallFrames.WriteDone(d);
                    sc.WriteStream(d);
                }
            }
        };

        var result = sim.RunClient(client, maxSteps: 1_500_000);

        Assert.True(result.Completed && done, $"{result.ClientCode}: {result.ClientMessage} after {result.Steps} steps; {resolved} files resolved, {hashesSent} hashes sent");
        Assert.Equal(job, sink.Data);
        Assert.Equal(0, sink.Rewrites);
        Assert.True(sink.MostAhead <= 16, $"{sink.MostAhead} files written ahead of the first unresolved one");
    }

    /// <summary>A job receiver in memory that takes bytes of at most <c>maxOpen</c> unresolved files (its MAX_DATA stops there).</summary>
    private sealed class LimitedSink(JobLayout layout, int maxOpen) : ILimitedDataSink
    {
        private readonly byte[] _writes = new byte[layout.TotalSize];
        private readonly RangeSet _received = new();

        public byte[] Data { get; } = new byte[layout.TotalSize];

        public long Rewrites { get; private set; }

        public int Resolved { get; set; }

        public int MostAhead { get; private set; }

        public long WritableEnd => Resolved + maxOpen >= layout.Count ? layout.TotalSize : layout.Start(Resolved + maxOpen);

        public bool Holds(int file)
        {
            var (start, end) = layout.RangeOf(file);
            return start == end || _received.ContainsAll(start, end);
        }

        public bool TryWrite(long offset, ReadOnlySpan<byte> data, out TransferError error, out string message)
        {
            Assert.True(offset + data.Length <= WritableEnd, $"write up to {offset + data.Length} past the sink's limit {WritableEnd}");
            data.CopyTo(Data.AsSpan((int)offset));
            for (long i = offset; i < offset + data.Length; i++)
            {
                if (_writes[i]++ > 0)
                {
                    Rewrites++;
                }
            }

            _received.Add(offset, offset + data.Length);
            MostAhead = Math.Max(MostAhead, layout.FileAt(offset + data.Length - 1) - Resolved + 1);
            error = TransferError.None;
            message = string.Empty;
            return true;
        }
    }
}
