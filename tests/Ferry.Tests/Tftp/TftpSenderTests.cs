using Ferry.Protocol.Tftp;

namespace Ferry.Tests.Tftp;

/// <summary>The sending state machine driven by hand, packet by packet, with a fake clock.</summary>
public sealed class TftpSenderTests
{
    private const long Second = TftpScenario.Second;
    private const long T0 = 123_456_789_000;
    private readonly byte[] _buffer = new byte[TftpLimits.MaxPacketLength];

    private static TftpSender Server(byte[] file, int blockSize = 512, int windowSize = 1, bool oack = false, TftpSessionConfig? config = null)
    {
        var options = new List<TftpOption>();
        if (oack)
        {
            options.Add(new TftpOption("blksize", blockSize.ToString()));
        }

        var negotiation = new TftpServerNegotiation(new TftpTransferParameters(blockSize, windowSize, 5 * Second, null), options, null, null);
        return TftpSender.ForServer(new MemoryBlockSource(file), negotiation, config ?? TftpSessionConfig.Server, T0);
    }

    private List<byte[]> Drain(TftpSession s)
    {
        var list = new List<byte[]>();
        int n;
        while ((n = s.PollTransmit(_buffer)) > 0)
        {
            list.Add(_buffer[..n]);
        }

        return list;
    }

    private static byte[] Ack(ushort block)
    {
        var b = new byte[4];
        TftpPacketWriter.WriteAck(b, block);
        return b;
    }

    private static ushort DataBlock(byte[] packet)
    {
        Assert.True(TftpPacketReader.TryReadData(packet, out ushort block, out _));
        return block;
    }

    [Fact]
    public void Duplicate_ack_does_not_trigger_a_retransmission()
    {
        var s = Server(new byte[2000]);
        Assert.Equal(1, DataBlock(Assert.Single(Drain(s))));
        s.HandleDatagram(Ack(1), T0 + 10);
        Assert.Equal(2, DataBlock(Assert.Single(Drain(s))));

        // The same ACK again (delayed copy, or the receiver repeating itself): Sorcerer's Apprentice would resend 2.
        s.HandleDatagram(Ack(1), T0 + 20);
        s.HandleDatagram(Ack(1), T0 + 30);
        Assert.Empty(Drain(s));
        Assert.Equal(2, s.Stats.DuplicateAcks);
        Assert.Equal(0, s.Stats.DataRetransmitted);

        // Only the timer retransmits, and exactly the unacknowledged block.
        s.HandleTimeout(T0 + 10 + (5 * Second) - 1);
        Assert.Empty(Drain(s));
        s.HandleTimeout(T0 + 10 + (5 * Second));
        Assert.Equal(2, DataBlock(Assert.Single(Drain(s))));
        Assert.Equal(1, s.Stats.DataRetransmitted);
    }

    [Fact]
    public void Ack_for_a_block_never_sent_is_ignored()
    {
        var s = Server(new byte[5000]);
        Drain(s);
        s.HandleDatagram(Ack(5), T0 + 1);
        s.HandleDatagram(Ack(65535), T0 + 1);
        Assert.Empty(Drain(s));
        Assert.Equal(0, s.AckedBlock);
        Assert.Equal(2, s.Stats.StaleAcks);
    }

    [Fact]
    public void Window_is_sent_per_new_ack_and_partial_ack_resends_from_there()
    {
        var s = Server(new byte[512 * 10], windowSize: 4);
        Assert.Equal(new ushort[] { 1, 2, 3, 4 }, Drain(s).Select(DataBlock));

        // The receiver lost block 3: it acknowledges 2, the sender continues from 3 with a full window.
        s.HandleDatagram(Ack(2), T0 + 5);
        Assert.Equal(new ushort[] { 3, 4, 5, 6 }, Drain(s).Select(DataBlock));
        s.HandleDatagram(Ack(6), T0 + 6);
        Assert.Equal(new ushort[] { 7, 8, 9, 10, 11 }.Take(4), Drain(s).Select(DataBlock));
        s.HandleDatagram(Ack(10), T0 + 7);
        var last = Assert.Single(Drain(s));
        Assert.Equal(11, DataBlock(last));
        Assert.Equal(4, last.Length); // 10 full blocks, then the empty block that ends the transfer
        s.HandleDatagram(Ack(11), T0 + 8);
        Assert.Equal(TftpSessionState.Completed, s.State);
        Assert.True(s.TryPollEvent(out var e));
        Assert.Equal(TftpEventKind.Completed, e.Kind);
        Assert.Equal(512 * 10, s.BytesAcknowledged);
    }

    [Fact]
    public void Server_never_sends_more_than_one_window_per_ack()
    {
        var s = Server(new byte[512 * 100], windowSize: 8);
        int sent = Drain(s).Count;
        for (ushort b = 8; b <= 96; b += 8)
        {
            s.HandleDatagram(Ack(b), T0 + b);
            sent += Drain(s).Count;
            Assert.True(sent <= 8 * ((b / 8) + 1));
        }
    }

    [Fact]
    public void Peer_gone_after_five_consecutive_timeouts_with_backoff()
    {
        var s = Server(new byte[2000], config: TftpSessionConfig.Client); // retransmits before a reply, like a client
        Drain(s);
        long t = T0;
        long[] intervals = { 5, 10, 20, 20 };
        foreach (long interval in intervals)
        {
            t += interval * Second;
            Assert.Equal(t, s.NextWakeupMicros);
            s.HandleTimeout(t);
            Assert.Equal(1, DataBlock(Assert.Single(Drain(s))));
            Assert.Equal(TftpSessionState.Transferring, s.State);
        }

        t += 20 * Second;
        Assert.Equal(t, s.NextWakeupMicros);
        s.HandleTimeout(t);
        Assert.Equal(TftpSessionState.Failed, s.State);
        Assert.Equal(TftpFailureReason.PeerGone, s.Failure!.Reason);
        Assert.Empty(Drain(s));
        Assert.Equal(long.MaxValue, s.NextWakeupMicros);
        Assert.Equal(5, s.Stats.Timeouts);
    }

    [Fact]
    public void Progress_resets_the_timeout_count()
    {
        var s = Server(new byte[5000], config: TftpSessionConfig.Client);
        Drain(s);
        s.HandleTimeout(T0 + (5 * Second));
        s.HandleTimeout(T0 + (15 * Second));
        Assert.Equal(2, s.ConsecutiveTimeouts);
        Drain(s);
        s.HandleDatagram(Ack(1), T0 + (16 * Second));
        Assert.Equal(0, s.ConsecutiveTimeouts);
        Assert.Equal(T0 + (21 * Second), s.NextWakeupMicros);
    }

    [Fact]
    public void Server_does_not_retransmit_before_the_client_answers_but_repeats_on_a_repeated_request()
    {
        var s = Server(new byte[2000], blockSize: 1024, oack: true);
        var first = Assert.Single(Drain(s));
        Assert.True(TftpPacketReader.TryReadOpcode(first, out var op));
        Assert.Equal(TftpOpcode.Oack, op);

        s.HandleTimeout(T0 + (5 * Second));
        Assert.Empty(Drain(s));
        s.HandleRequestRetransmission(T0 + (6 * Second));
        Assert.Equal(first, Assert.Single(Drain(s)));

        s.HandleDatagram(Ack(0), T0 + (7 * Second));
        Assert.True(s.PeerReplied);
        Assert.Equal(1, DataBlock(Assert.Single(Drain(s))));

        // Once the client answered, a stray repeated request changes nothing; timeouts do retransmit.
        s.HandleRequestRetransmission(T0 + (8 * Second));
        Assert.Empty(Drain(s));
        s.HandleTimeout(T0 + (12 * Second));
        Assert.Equal(1, DataBlock(Assert.Single(Drain(s))));
    }

    [Fact]
    public void Silent_client_is_dropped_after_two_timeouts_having_received_one_packet()
    {
        var s = Server(new byte[2000]);
        int packets = Drain(s).Count;
        while (!s.IsFinished)
        {
            s.HandleTimeout(s.NextWakeupMicros);
            packets += Drain(s).Count;
        }

        Assert.Equal(1, packets);
        Assert.Equal(TftpFailureReason.PeerGone, s.Failure!.Reason);
        Assert.Equal(2, s.Stats.Timeouts);
    }

    [Fact]
    public void Error_from_peer_ends_the_session_without_a_reply()
    {
        var s = Server(new byte[2000]);
        Drain(s);
        var err = new byte[64];
        int n = TftpPacketWriter.WriteError(err, TftpErrorCode.DiskFull, "full");
        s.HandleDatagram(err.AsSpan(0, n), T0 + 1);
        Assert.Equal(TftpSessionState.Failed, s.State);
        Assert.Equal(new TftpFailure(TftpFailureReason.PeerError, TftpErrorCode.DiskFull, "full"), s.Failure);
        Assert.Empty(Drain(s));
    }

    [Fact]
    public void Abort_sends_an_error_packet()
    {
        var s = Server(new byte[2000]);
        Drain(s);
        s.Abort(TftpErrorCode.NotDefined, "read failed");
        var p = Assert.Single(Drain(s));
        Assert.True(TftpPacketReader.TryReadError(p, out var code, out string msg));
        Assert.Equal(TftpErrorCode.NotDefined, code);
        Assert.Equal("read failed", msg);
    }

    [Fact]
    public void Garbage_on_the_transfer_port_is_dropped()
    {
        var s = Server(new byte[2000]);
        Drain(s);
        s.HandleDatagram(new byte[] { 0 }, T0 + 1);
        s.HandleDatagram(new byte[] { 0, 9, 1, 2 }, T0 + 1);
        s.HandleDatagram(new byte[] { 0, 4, 0 }, T0 + 1);
        s.HandleDatagram(new byte[] { 0, 3, 0, 1, 5 }, T0 + 1);
        Assert.Empty(Drain(s));
        Assert.Equal(4, s.Stats.Dropped);
        Assert.Equal(TftpSessionState.Transferring, s.State);
    }
}
