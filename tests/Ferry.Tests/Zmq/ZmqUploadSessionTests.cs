using Ferry.Protocol.Zmq;
using static Ferry.Tests.Zmq.ZmqFrames;

namespace Ferry.Tests.Zmq;

/// <summary>The seven rules of the zmq:// upload protocol (docs/PROTOCOL.md) through the pure session state machine, with a fake clock.</summary>
public sealed class ZmqUploadSessionTests
{
    private static readonly TimeSpan s_idle = TimeSpan.FromSeconds(60);

    // A fake clock that starts at an odd offset, so nothing can assume zero.
    private TimeSpan _now = TimeSpan.FromSeconds(12345.678);
    private long _seq = 100;

    private ZmqArrival Next(long? firstUnanswered = null)
    {
        long s = _seq++;
        return new ZmqArrival(s, firstUnanswered ?? s);
    }

    private ZmqUploadSession Open(string name = "f")
    {
        var s = new ZmqUploadSession(name, s_idle);
        Assert.Equal(ZmqStepKind.AcquireFile, s.OnHello(_now, Next()).Kind);
        Assert.Equal(ZmqSessionState.Opening, s.State);
        Assert.True(s.OnHelloResult(_now, null).IsReady);
        Assert.Equal(ZmqSessionState.Open, s.State);
        return s;
    }

    private ZmqReply Chunk(ZmqUploadSession s, long offset, byte[] data, ZmqArrival? arrival = null, string? checksum = null)
    {
        Sha256Digest.TryParseLowerHex(System.Text.Encoding.ASCII.GetBytes(checksum ?? Hex(data)), out var sum);
        var step = s.OnChunk(_now, arrival ?? Next(), offset, sum, data);
        if (step.Kind == ZmqStepKind.Reply)
        {
            return step.Reply;
        }

        Assert.Equal(ZmqStepKind.Write, step.Kind);
        return s.OnChunkWritten(_now, offset, data.Length, null);
    }

    [Fact]
    public void Rule1_chunk_or_close_without_hello_gets_error()
    {
        var s = new ZmqUploadSession("dir/f", s_idle);
        var r = Chunk(s, 0, Bytes(10, 1));
        Assert.Equal("no open transfer of 'dir/f': send HELLO first", r.Error);
        var c = s.OnClose(_now, Next(), 0);
        Assert.Equal(ZmqStepKind.Reply, c.Kind);
        Assert.Equal("no open transfer of 'dir/f': send HELLO first", c.Reply.Error);
        Assert.Equal(ZmqSessionState.Idle, s.State);
        Assert.Null(s.NextWakeup);
    }

    [Fact]
    public void Rule2_chunk_overlapping_an_unanswered_chunk_gets_error_and_the_other_is_unaffected()
    {
        var s = Open();
        byte[] a = Bytes(100, 1), b = Bytes(100, 2), c = Bytes(100, 3);
        var arrivalA = Next();
        Assert.True(Chunk(s, 0, a, arrivalA).IsReady);

        // B arrives while A is still unanswered (FirstUnanswered = A) and overlaps its last byte.
        var r = Chunk(s, 99, b[..1], Next(arrivalA.Sequence));
        Assert.Equal("chunk [99,100) overlaps chunk [0,100) that is still in transit", r.Error);

        // C, adjacent to A but not overlapping, arrives in the same window: accepted.
        Assert.True(Chunk(s, 100, c, Next(arrivalA.Sequence)).IsReady);
        Assert.Equal("[0,200)", s.Received.ToString());
        Assert.Equal(2, s.ChunksAccepted);
        Assert.Equal(1, s.ChunksRejected);
        Assert.Equal(ZmqStepKind.Commit, s.OnClose(_now, Next(), 200).Kind);
    }

    [Fact]
    public void Rule2_overlap_with_an_already_answered_chunk_is_allowed()
    {
        var s = Open();
        byte[] a = Bytes(100, 1);
        Assert.True(Chunk(s, 0, a).IsReady);

        // The client had A's reply before sending this retransmission: not in transit, so it is fine.
        Assert.True(Chunk(s, 50, a[50..]).IsReady);
        Assert.Equal("[0,100)", s.Received.ToString());
    }

    [Fact]
    public void Rule2_rejected_chunks_still_count_as_in_transit_until_answered()
    {
        var s = Open();
        byte[] a = Bytes(100, 1);
        var arrivalA = Next();
        Assert.NotNull(Chunk(s, 0, a, arrivalA, checksum: Hex(Bytes(1, 9))).Error);
        Assert.StartsWith("chunk [10,20) overlaps chunk [0,100)", Chunk(s, 10, a[10..20], Next(arrivalA.Sequence)).Error);
        Assert.True(s.Received.IsEmpty);
    }

    [Fact]
    public void Rule2_bad_checksum_rejects_only_that_chunk()
    {
        var s = Open();
        byte[] a = Bytes(100, 1), b = Bytes(100, 2);
        var arrivalA = Next();
        var r = Chunk(s, 0, a, arrivalA, checksum: Hex(b));
        Assert.Equal($"checksum mismatch: the data hashes to {Hex(a)}, not {Hex(b)}", r.Error);
        Assert.True(Chunk(s, 100, b, Next(arrivalA.Sequence)).IsReady);

        // The rejected range is simply missing; resending it (after its ERROR) completes the file.
        Assert.Equal("[100,200)", s.Received.ToString());
        Assert.True(Chunk(s, 0, a).IsReady);
        Assert.Equal(ZmqStepKind.Commit, s.OnClose(_now, Next(), 200).Kind);
        Assert.True(s.OnCloseResult(_now, null).IsReady);
        Assert.Equal(ZmqSessionState.Idle, s.State);
    }

    [Fact]
    public void Rule2_empty_and_out_of_range_chunks_get_error()
    {
        var s = Open();
        Assert.Equal(ZmqErrors.EmptyChunk, Chunk(s, 0, Array.Empty<byte>()).Error);
        Assert.Equal($"chunk ends at byte {ZmqLimits.MaxFileSize + 9}, beyond the maximum file size of {ZmqLimits.MaxFileSize} bytes",
            Chunk(s, ZmqLimits.MaxFileSize, Bytes(9, 1)).Error);
        Assert.StartsWith("chunk ends at byte 9223372036854775807, beyond", Chunk(s, long.MaxValue - 2, Bytes(9, 1)).Error);
        Assert.True(Chunk(s, ZmqLimits.MaxFileSize - 9, Bytes(9, 1)).IsReady);
    }

    [Fact]
    public void Rule3_close_with_a_gap_aborts_the_transfer()
    {
        var s = Open();
        Assert.True(Chunk(s, 0, Bytes(100, 1)).IsReady);
        Assert.True(Chunk(s, 150, Bytes(50, 2)).IsReady);
        var step = s.OnClose(_now, Next(), 200);
        Assert.Equal(ZmqStepKind.Abort, step.Kind);
        Assert.Equal("gap: bytes [100,150) never arrived; transfer aborted", step.Reply.Error);
        Assert.Equal(ZmqSessionState.Idle, s.State);

        // After the abort a new HELLO is needed.
        Assert.Equal("no open transfer of 'f': send HELLO first", Chunk(s, 100, Bytes(50, 3)).Error);
        Assert.Equal(ZmqStepKind.AcquireFile, s.OnHello(_now, Next()).Kind);
    }

    [Fact]
    public void Rule3_close_with_a_gap_at_the_start_aborts()
    {
        var s = Open();
        Assert.True(Chunk(s, 10, Bytes(90, 1)).IsReady);
        var step = s.OnClose(_now, Next(), 100);
        Assert.Equal(ZmqStepKind.Abort, step.Kind);
        Assert.Equal("gap: bytes [0,10) never arrived; transfer aborted", step.Reply.Error);
    }

    [Theory]
    [InlineData(99)]
    [InlineData(101)]
    [InlineData(0)]
    public void Rule3_close_size_must_equal_the_highest_chunk_end(long size)
    {
        var s = Open();
        Assert.True(Chunk(s, 0, Bytes(100, 1)).IsReady);
        var step = s.OnClose(_now, Next(), size);
        Assert.Equal(ZmqStepKind.Abort, step.Kind);
        Assert.Equal($"size mismatch: CLOSE says {size} bytes but the chunks end at byte 100; transfer aborted", step.Reply.Error);
        Assert.False(s.HoldsFile);
    }

    [Fact]
    public void Rule3_complete_upload_commits_including_empty_files_and_out_of_order_chunks()
    {
        var empty = Open("empty");
        Assert.Equal(ZmqStepKind.Commit, empty.OnClose(_now, Next(), 0).Kind);
        Assert.True(empty.HoldsFile);
        Assert.True(empty.OnCloseResult(_now, null).IsReady);

        var s = Open();
        Assert.True(Chunk(s, 200, Bytes(50, 1)).IsReady);
        Assert.True(Chunk(s, 0, Bytes(100, 2)).IsReady);
        Assert.True(Chunk(s, 100, Bytes(100, 3)).IsReady);
        Assert.Equal(ZmqStepKind.Commit, s.OnClose(_now, Next(), 250).Kind);
        Assert.Equal(ZmqSessionState.Closing, s.State);
        var failed = s.OnCloseResult(_now, "integrity: disk ate it");
        Assert.Equal("integrity: disk ate it", failed.Error);
        Assert.Equal(ZmqSessionState.Idle, s.State);
    }

    [Fact]
    public void Rule4_hello_error_sets_up_nothing()
    {
        var s = new ZmqUploadSession("f", s_idle);
        Assert.Equal(ZmqStepKind.AcquireFile, s.OnHello(_now, Next()).Kind);
        var r = s.OnHelloResult(_now, "busy: somebody else");
        Assert.Equal("busy: somebody else", r.Error);
        Assert.Equal(ZmqSessionState.Idle, s.State);
        Assert.False(s.HoldsFile);
        Assert.Null(s.NextWakeup);
        Assert.Equal("no open transfer of 'f': send HELLO first", Chunk(s, 0, Bytes(1, 1)).Error);
    }

    [Fact]
    public void Rule4_and_6_second_hello_on_an_open_transfer_gets_error_and_leaves_it_untouched()
    {
        var s = Open();
        Assert.True(Chunk(s, 0, Bytes(100, 1)).IsReady);
        var step = s.OnHello(_now, Next());
        Assert.Equal(ZmqStepKind.Reply, step.Kind);
        Assert.Equal("'f' is already being uploaded on this connection: finish it with CLOSE first", step.Reply.Error);
        Assert.Equal(ZmqSessionState.Open, s.State);
        Assert.True(Chunk(s, 100, Bytes(100, 2)).IsReady);
        Assert.Equal(ZmqStepKind.Commit, s.OnClose(_now, Next(), 200).Kind);
    }

    [Fact]
    public void Rule5_sessions_of_one_client_are_independent_and_in_transit_is_per_file()
    {
        var seq = new ZmqReplySequencer<string, int>();
        var a = Open("a");
        var b = Open("b");
        byte[] d = Bytes(100, 1);
        var arrivals = Enumerable.Range(0, 4).Select(_ => seq.Arrive("client")).ToArray();

        // All four are pipelined (unanswered); the same range in two different files is not an overlap.
        Assert.True(Chunk(a, 0, d, arrivals[0]).IsReady);
        Assert.True(Chunk(b, 0, d, arrivals[1]).IsReady);
        Assert.StartsWith("chunk [50,150) overlaps", Chunk(a, 50, Bytes(100, 2), arrivals[2]).Error);
        Assert.True(Chunk(b, 100, d, arrivals[3]).IsReady);
        Assert.Equal(ZmqStepKind.Commit, a.OnClose(_now, seq.Arrive("client"), 100).Kind);
        Assert.Equal(ZmqStepKind.Commit, b.OnClose(_now, seq.Arrive("client"), 200).Kind);
    }

    [Fact]
    public void Rule7_idle_transfer_expires_once_at_the_deadline_and_activity_postpones_it()
    {
        var s = Open();
        var start = _now;
        Assert.Equal(start + s_idle, s.NextWakeup);
        _now = start + s_idle - TimeSpan.FromTicks(1);
        Assert.False(s.OnTimeout(_now));

        Assert.True(Chunk(s, 0, Bytes(10, 1)).IsReady); // activity at start + idle - 1 tick
        Assert.Equal(_now + s_idle, s.NextWakeup);
        Assert.False(s.OnTimeout(start + s_idle));

        _now += s_idle;
        Assert.True(s.OnTimeout(_now));
        Assert.False(s.OnTimeout(_now + s_idle));
        Assert.Equal(ZmqSessionState.Idle, s.State);
        Assert.Null(s.NextWakeup);
        Assert.Equal("no open transfer of 'f': send HELLO first", Chunk(s, 10, Bytes(10, 2)).Error);

        // The filename can be set up again (the shell released it when OnTimeout returned true).
        Assert.Equal(ZmqStepKind.AcquireFile, s.OnHello(_now, Next()).Kind);
    }

    [Fact]
    public void Rule7_no_expiry_while_acquiring_or_committing()
    {
        var s = new ZmqUploadSession("f", s_idle);
        s.OnHello(_now, Next());
        Assert.Null(s.NextWakeup);
        Assert.False(s.OnTimeout(_now + TimeSpan.FromDays(1)));
        s.OnHelloResult(_now, null);
        s.OnClose(_now, Next(), 0);
        Assert.False(s.OnTimeout(_now + TimeSpan.FromDays(1)));
        Assert.Equal(ZmqSessionState.Closing, s.State);
    }

    [Fact]
    public void Outcome_calls_in_the_wrong_state_throw()
    {
        var s = new ZmqUploadSession("f", s_idle);
        Assert.Throws<InvalidOperationException>(() => s.OnHelloResult(_now, null));
        Assert.Throws<InvalidOperationException>(() => s.OnChunkWritten(_now, 0, 1, null));
        Assert.Throws<InvalidOperationException>(() => s.OnCloseResult(_now, null));
    }

    [Fact]
    public void Write_failure_rejects_the_chunk_without_recording_it()
    {
        var s = Open();
        byte[] d = Bytes(10, 1);
        Sha256Digest.TryParseLowerHex(System.Text.Encoding.ASCII.GetBytes(Hex(d)), out var sum);
        Assert.Equal(ZmqStepKind.Write, s.OnChunk(_now, Next(), 0, sum, d).Kind);
        Assert.Equal("no space left on the server", s.OnChunkWritten(_now, 0, 10, "no space left on the server").Error);
        Assert.True(s.Received.IsEmpty);
        Assert.Equal(1, s.ChunksRejected);
    }

    [Fact]
    public void Randomized_pipelines_never_accept_an_overlap_with_an_unanswered_chunk()
    {
        // Property: over random pipelines, every accepted chunk is disjoint from every chunk still unanswered at its arrival.
        var rng = new Random(7);
        for (int round = 0; round < 50; round++)
        {
            var s = Open();
            var seq = new ZmqReplySequencer<int, long>();
            var unanswered = new List<(long Seq, long Start, long End)>();
            var release = new List<long>();
            for (int i = 0; i < 200; i++)
            {
                if (unanswered.Count > 0 && rng.Next(3) == 0)
                {
                    // Answer the oldest (replies leave in order).
                    var first = unanswered[0];
                    unanswered.RemoveAt(0);
                    release.Clear();
                    seq.Complete(0, first.Seq, first.Seq, release);
                    Assert.Equal(new[] { first.Seq }, release);
                    continue;
                }

                long off = rng.Next(0, 1000);
                byte[] d = Bytes(rng.Next(1, 60), i);
                var arrival = seq.Arrive(0);
                var r = Chunk(s, off, d, arrival);
                bool overlaps = unanswered.Any(u => u.Start < off + d.Length && off < u.End);
                Assert.Equal(overlaps, !r.IsReady);
                unanswered.Add((arrival.Sequence, off, off + d.Length));
            }
        }
    }
}
