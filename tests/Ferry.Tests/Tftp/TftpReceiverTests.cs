using Ferry.Protocol.Tftp;

namespace Ferry.Tests.Tftp;

/// <summary>The receiving state machine driven by hand with a fake clock.</summary>
public sealed class TftpReceiverTests
{
    private const long Second = TftpScenario.Second;
    private const long T0 = 987_654_321_000;
    private readonly byte[] _buffer = new byte[TftpLimits.MaxPacketLength];

    private static TftpReceiver Server(MemoryBlockSink sink, int blockSize = 8, int windowSize = 1, TftpSessionConfig? config = null)
    {
        var negotiation = new TftpServerNegotiation(new TftpTransferParameters(blockSize, windowSize, 5 * Second, null), Array.Empty<TftpOption>(), null, null);
        return TftpReceiver.ForServer(sink, negotiation, config ?? TftpSessionConfig.Server, T0);
    }

    private static byte[] Data(long block, byte fill, int length)
    {
        var b = new byte[4 + length];
        TftpPacketWriter.WriteDataHeader(b, TftpBlockNumber.ToWire(block));
        b.AsSpan(4).Fill(fill);
        return b;
    }

    private List<ushort> Acks(TftpSession s)
    {
        var list = new List<ushort>();
        int n;
        while ((n = s.PollTransmit(_buffer)) > 0)
        {
            Assert.True(TftpPacketReader.TryReadAck(_buffer.AsSpan(0, n), out ushort block), "expected an ACK");
            list.Add(block);
        }

        return list;
    }

    [Fact]
    public void Late_data_with_an_old_block_number_is_never_written_twice()
    {
        var sink = new MemoryBlockSink();
        var r = Server(sink);
        Assert.Equal(new ushort[] { 0 }, Acks(r));
        for (int b = 1; b <= 5; b++)
        {
            r.HandleDatagram(Data(b, (byte)b, 8), T0 + b);
            Assert.Equal(new[] { (ushort)b }, Acks(r));
        }

        // Very late copies of blocks 1..4 (a classic TFTP receiver bug: a late packet must never add data).
        for (int b = 1; b <= 4; b++)
        {
            r.HandleDatagram(Data(b, 0xEE, 8), T0 + 100 + b);
        }

        Assert.Empty(Acks(r));

        // A copy of the last block received means our ACK was lost: acknowledge again, write nothing.
        r.HandleDatagram(Data(5, 0xEE, 8), T0 + 200);
        Assert.Equal(new ushort[] { 5 }, Acks(r));
        Assert.Equal(5, sink.Writes);
        Assert.Equal(40, sink.Length);
        Assert.DoesNotContain((byte)0xEE, sink.ToArray());
        Assert.Equal(5, r.Stats.DuplicateData);
    }

    [Fact]
    public void Window_acks_every_window_and_once_per_gap()
    {
        var sink = new MemoryBlockSink();
        var r = Server(sink, windowSize: 4);
        Acks(r);
        r.HandleDatagram(Data(1, 1, 8), T0 + 1);
        r.HandleDatagram(Data(2, 2, 8), T0 + 2);
        r.HandleDatagram(Data(3, 3, 8), T0 + 3);
        Assert.Empty(Acks(r));
        r.HandleDatagram(Data(4, 4, 8), T0 + 4);
        Assert.Equal(new ushort[] { 4 }, Acks(r));

        // Block 5 lost: 6, 7, 8 arrive out of order, one ACK of 4 tells the sender where to resume.
        r.HandleDatagram(Data(6, 6, 8), T0 + 6);
        r.HandleDatagram(Data(7, 7, 8), T0 + 7);
        r.HandleDatagram(Data(8, 8, 8), T0 + 8);
        Assert.Equal(new ushort[] { 4 }, Acks(r));
        Assert.Equal(3, r.Stats.OutOfOrderData);
        Assert.Equal(32, sink.Length);

        for (int b = 5; b <= 8; b++)
        {
            r.HandleDatagram(Data(b, (byte)b, 8), T0 + 10 + b);
        }

        Assert.Equal(new ushort[] { 8 }, Acks(r));
        r.HandleDatagram(Data(9, 9, 3), T0 + 30);
        Assert.Equal(TftpSessionState.AwaitingConfirm, r.State);
        Assert.Empty(Acks(r));
        r.ConfirmComplete(T0 + 31);
        Assert.Equal(new ushort[] { 9 }, Acks(r));
        Assert.Equal(67, sink.Length);
    }

    [Fact]
    public void Final_ack_waits_for_confirmation_then_dallies()
    {
        var sink = new MemoryBlockSink();
        var r = Server(sink);
        Acks(r);
        r.HandleDatagram(Data(1, 1, 8), T0 + 1);
        r.HandleDatagram(Data(2, 2, 2), T0 + 2);
        Assert.Equal(new ushort[] { 1 }, Acks(r));
        Assert.True(r.TryPollEvent(out var e));
        Assert.Equal(TftpEventKind.DataComplete, e.Kind);

        // Retransmitted final block while the shell commits: no ACK yet (it would claim success too early).
        r.HandleDatagram(Data(2, 2, 2), T0 + 3);
        Assert.Empty(Acks(r));

        r.ConfirmComplete(T0 + 4);
        Assert.Equal(new ushort[] { 2 }, Acks(r));
        Assert.Equal(TftpSessionState.Dallying, r.State);
        Assert.True(r.TryPollEvent(out e));
        Assert.Equal(TftpEventKind.Completed, e.Kind);

        // The final ACK was lost: the sender retransmits and is answered during the dally.
        r.HandleDatagram(Data(2, 2, 2), T0 + (3 * Second));
        Assert.Equal(new ushort[] { 2 }, Acks(r));
        r.HandleTimeout(T0 + 4 + (5 * Second));
        Assert.Equal(TftpSessionState.Completed, r.State);
        Assert.Equal(10, sink.Length);
    }

    [Fact]
    public void Abort_while_awaiting_confirmation_sends_an_error_instead_of_the_final_ack()
    {
        var sink = new MemoryBlockSink();
        var r = Server(sink);
        Acks(r);
        r.HandleDatagram(Data(1, 1, 3), T0 + 1);
        r.Abort(TftpErrorCode.FileAlreadyExists, "exists");
        int n = r.PollTransmit(_buffer);
        Assert.True(TftpPacketReader.TryReadError(_buffer.AsSpan(0, n), out var code, out _));
        Assert.Equal(TftpErrorCode.FileAlreadyExists, code);
        Assert.Equal(TftpSessionState.Failed, r.State);
    }

    [Fact]
    public void Oversized_data_is_an_illegal_operation()
    {
        var sink = new MemoryBlockSink();
        var r = Server(sink);
        Acks(r);
        r.HandleDatagram(Data(1, 1, 9), T0 + 1);
        int n = r.PollTransmit(_buffer);
        Assert.True(TftpPacketReader.TryReadError(_buffer.AsSpan(0, n), out var code, out _));
        Assert.Equal(TftpErrorCode.IllegalOperation, code);
        Assert.Equal(TftpFailureReason.ProtocolViolation, r.Failure!.Reason);
        Assert.Equal(0, sink.Length);
    }

    [Fact]
    public void Sink_failure_leaves_state_unchanged_for_the_shell_to_abort()
    {
        var sink = new MemoryBlockSink();
        var r = Server(sink);
        Acks(r);
        sink.FailNextWrite = true;
        Assert.Throws<IOException>(() => r.HandleDatagram(Data(1, 1, 8), T0 + 1));
        Assert.Equal(0, r.ReceivedBlock);
        r.Abort(TftpErrorCode.DiskFull, "disk full");
        Assert.Equal(TftpSessionState.Failed, r.State);
    }

    [Fact]
    public void Receiver_timeout_reacknowledges_and_gives_up_after_five()
    {
        var sink = new MemoryBlockSink();
        var r = Server(sink);
        Acks(r);

        // Before the client sent anything, a server sends nothing on timeout.
        r.HandleTimeout(r.NextWakeupMicros);
        Assert.Empty(Acks(r));
        r.HandleDatagram(Data(1, 1, 8), T0 + (6 * Second));
        Assert.Equal(new ushort[] { 1 }, Acks(r));
        for (int i = 0; i < 4; i++)
        {
            r.HandleTimeout(r.NextWakeupMicros);
            Assert.Equal(new ushort[] { 1 }, Acks(r));
        }

        r.HandleTimeout(r.NextWakeupMicros);
        Assert.Equal(TftpFailureReason.PeerGone, r.Failure!.Reason);
        Assert.Empty(Acks(r));
    }

    [Fact]
    public void Client_accepts_data_when_the_server_ignores_options()
    {
        var sink = new MemoryBlockSink();
        var r = TftpReceiver.ForClient(sink, "f", TftpNegotiation.ClientOptions(1428, 16, null, 0), 2 * Second, TftpSessionConfig.Client, T0);
        int n = r.PollTransmit(_buffer);
        Assert.Equal(TftpParseError.None, TftpPacketReader.ReadRequest(_buffer.AsSpan(0, n), out var rrq));
        Assert.Equal(3, rrq!.Options.Count);
        r.HandleDatagram(Data(1, 1, 512), T0 + 1);
        Assert.True(r.TryPollEvent(out var e));
        Assert.Equal(TftpEventKind.Negotiated, e.Kind);
        Assert.Equal(new TftpTransferParameters(512, 1, 2 * Second, null), r.Parameters);
        Assert.Equal(new ushort[] { 1 }, Acks(r));
        r.HandleDatagram(Data(2, 2, 0), T0 + 2);
        Assert.Equal(new ushort[] { 2 }, Acks(r));
        Assert.Equal(TftpSessionState.Completed, r.State);
    }

    [Fact]
    public void Client_refuses_an_oack_that_grants_more_than_asked()
    {
        var sink = new MemoryBlockSink();
        var r = TftpReceiver.ForClient(sink, "f", TftpNegotiation.ClientOptions(1024, null, null, 0), 5 * Second, TftpSessionConfig.Client, T0);
        r.PollTransmit(_buffer);
        var oack = new byte[64];
        int n = TftpPacketWriter.WriteOack(oack, new[] { new TftpOption("blksize", "2048") });
        r.HandleDatagram(oack.AsSpan(0, n), T0 + 1);
        n = r.PollTransmit(_buffer);
        Assert.True(TftpPacketReader.TryReadError(_buffer.AsSpan(0, n), out var code, out _));
        Assert.Equal(TftpErrorCode.OptionNegotiation, code);
        Assert.Equal(TftpFailureReason.ProtocolViolation, r.Failure!.Reason);
    }
}
