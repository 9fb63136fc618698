using Ferry.Protocol.Tftp;

namespace Ferry.Tests.Tftp;

/// <summary>Client and server state machines talking over a simulated network with a fake clock.</summary>
public sealed class TftpSimulationTests
{
    [Theory]
    [InlineData(0, null, null)]
    [InlineData(1, null, null)]
    [InlineData(511, null, null)]
    [InlineData(512, null, null)]
    [InlineData(513, null, null)]
    [InlineData(100_000, 1428, null)]
    [InlineData(100_000, 1428, 16)]
    [InlineData(1428 * 64, 1428, 64)]
    [InlineData(12345, 8, 7)]
    public void Download_is_byte_identical(int size, int? blockSize, int? windowSize)
    {
        var s = TftpScenario.Download(MemoryBlockSource.Content(size, size), blockSize, windowSize);
        s.RunToCompletion();
        Assert.Equal(size, ((TftpReceiver)s.Link.Client).BytesReceived);
        Assert.Equal(0, s.Link.Server!.Stats.DataRetransmitted);
        Assert.Equal(0, s.Link.Client.Stats.Timeouts);
        if (blockSize is not null)
        {
            Assert.Equal(blockSize, s.Link.Client.Parameters.BlockSize);
            Assert.Equal(size, s.Link.Client.Parameters.TransferSize);
        }
    }

    [Theory]
    [InlineData(0, null, null)]
    [InlineData(1024, null, null)]
    [InlineData(100_000, 1428, 16)]
    [InlineData(77_777, 1000, 4)]
    public void Upload_is_byte_identical_and_tsize_reaches_the_server(int size, int? blockSize, int? windowSize)
    {
        var s = TftpScenario.Upload(MemoryBlockSource.Content(size, size + 1), blockSize, windowSize);
        s.RunToCompletion();
        Assert.Equal(size, s.Negotiation!.Parameters.TransferSize);
        Assert.Equal(size, ((TftpSender)s.Link.Client).BytesAcknowledged);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(8)]
    public void Lost_data_is_recovered_by_timeout(int windowSize)
    {
        var s = TftpScenario.Download(MemoryBlockSource.Content(20_000, 3), 1000, windowSize);
        var dropped = new HashSet<long>();
        s.Link.Drop = p => !p.ToServer && p.Opcode == TftpOpcode.Data && (p.Block is 3 or 12 or 21) && dropped.Add(p.Block);
        s.RunToCompletion();
        Assert.Equal(3, dropped.Count);
        Assert.True(s.Link.Server!.Stats.DataRetransmitted >= 3);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(4)]
    public void Lost_ack_is_recovered(int windowSize)
    {
        var s = TftpScenario.Download(MemoryBlockSource.Content(20_000, 4), 1000, windowSize);
        var dropped = new HashSet<long>();
        s.Link.Drop = p => p.ToServer && p.Opcode == TftpOpcode.Ack && (p.Block is 4 or 8 or 16) && dropped.Add(p.Block);
        s.RunToCompletion();
        Assert.NotEmpty(dropped);
    }

    [Fact]
    public void Lost_final_ack_of_an_upload_is_answered_during_the_dally()
    {
        var s = TftpScenario.Upload(MemoryBlockSource.Content(3000, 5), 1000);
        bool dropped = false;
        s.Link.Drop = p => !p.ToServer && p.IsAck(4) && !dropped && (dropped = true);
        s.RunToCompletion();
        Assert.True(dropped);
        Assert.Equal(5, s.Link.Server!.Stats.AcksSent);
    }

    [Fact]
    public void Lost_oack_and_request_retransmission()
    {
        // The server sends one OACK per request: when it is lost, the client's retransmitted RRQ brings another.
        var s = TftpScenario.Download(MemoryBlockSource.Content(5000, 6), 1024);
        bool dropped = false;
        s.Link.Drop = p => !p.ToServer && p.Opcode == TftpOpcode.Oack && !dropped && (dropped = true);
        s.RunToCompletion();
        Assert.Equal(2, s.Link.RequestsSeenByServer);
        Assert.Equal(2, s.Link.Sent.Count(p => p.Opcode == TftpOpcode.Oack));
    }

    [Fact]
    public void Delayed_duplicate_acks_cause_no_extra_data()
    {
        // Every ACK is delivered twice, the copy much later: a Sorcerer's Apprentice sender would double its DATA.
        var s = TftpScenario.Download(MemoryBlockSource.Content(50_000, 7), 500);
        s.Link.Drop = p =>
        {
            if (p.ToServer && p.Opcode == TftpOpcode.Ack)
            {
                s.Link.Inject(p, delayMicros: 600);
            }

            return false;
        };
        s.RunToCompletion();
        Assert.Equal(101, s.Link.Server!.Stats.DataPacketsSent);
        Assert.Equal(0, s.Link.Server.Stats.DataRetransmitted);
        Assert.Equal(101, s.Link.Server.Stats.DuplicateAcks);
    }

    [Fact]
    public void Late_replayed_old_data_and_acks_do_not_corrupt_or_duplicate()
    {
        var s = TftpScenario.Download(MemoryBlockSource.Content(64 * 1024, 8), 512, 4);
        var oldData = new List<TftpLink.Packet>();
        var oldAcks = new List<TftpLink.Packet>();
        var rng = new Random(8);
        int replayed = 0;
        s.Link.Drop = p =>
        {
            (p.Opcode == TftpOpcode.Data ? oldData : oldAcks).Add(p);

            // Now and then replay an old DATA toward the client and an old ACK toward the server, late.
            if (oldData.Count > 20 && oldAcks.Count > 10 && rng.Next(3) == 0)
            {
                s.Link.Inject(oldData[rng.Next(oldData.Count - 8)], delayMicros: rng.Next(1, 3_000));
                s.Link.Inject(oldAcks[rng.Next(oldAcks.Count - 3)], delayMicros: rng.Next(1, 3_000));
                replayed += 2;
            }

            return false;
        };
        s.RunToCompletion();
        Assert.True(replayed > 40);
        Assert.True(s.Link.Client.Stats.DuplicateData > 10);
        Assert.True(s.Link.Server!.Stats.DuplicateAcks + s.Link.Server.Stats.StaleAcks > 10);
    }

    [Fact]
    public void Replayed_block_with_other_bytes_is_never_written()
    {
        // While block 20 of an upload is in flight, a forged/late copy of block 5 with different bytes arrives.
        var s = TftpScenario.Upload(MemoryBlockSource.Content(400, 9), 8);
        var forged = new byte[12];
        TftpPacketWriter.WriteDataHeader(forged, 5);
        forged.AsSpan(4).Fill(0xEE);
        s.Link.Drop = p =>
        {
            if (p.ToServer && p.IsData(20))
            {
                s.Link.Inject(new TftpLink.Packet(true, forged, 0, 0), delayMicros: 1);
            }

            return false;
        };
        s.RunToCompletion();
        Assert.Equal(1, s.Link.Server!.Stats.DuplicateData);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(16)]
    public void Rollover_beyond_65535_blocks(int windowSize)
    {
        // blksize 8: 600,000 bytes is 75,000 blocks, so wire block numbers wrap past 65535 to 0.
        var s = TftpScenario.Download(MemoryBlockSource.Content(600_000, 10), 8, windowSize);
        bool sawWrap = false;
        int drops = 0;
        s.Link.Drop = p =>
        {
            sawWrap |= p.Opcode == TftpOpcode.Data && p.Block == 0;

            // Lose a few packets right around the wrap on both sides.
            return (p.Opcode == TftpOpcode.Data && p.Block is 65535 or 0 or 1 && drops < 3 && ++drops > 0)
                || (p.Opcode == TftpOpcode.Ack && p.Block == 2 && drops is >= 3 and < 5 && ++drops > 0);
        };
        s.RunToCompletion();
        Assert.True(sawWrap);
        Assert.Equal(75_001, ((TftpReceiver)s.Link.Client).ReceivedBlock);
    }

    [Fact]
    public void Rollover_upload_with_replayed_pre_wrap_acks()
    {
        var s = TftpScenario.Upload(MemoryBlockSource.Content(70_000 * 8, 11), 8, 8);
        var early = new List<TftpLink.Packet>();
        s.Link.Drop = p =>
        {
            if (!p.ToServer && p.Opcode == TftpOpcode.Ack && p.Block < 200 && ((TftpSender)s.Link.Client).AckedBlock < 1000)
            {
                early.Add(p);
            }

            // After the wrap, replay ACKs from the first epoch: they must not move the window.
            if (!p.ToServer && ((TftpSender)s.Link.Client).AckedBlock > 66_000 && early.Count > 0)
            {
                s.Link.Inject(early[^1]);
                early.RemoveAt(early.Count - 1);
            }

            return false;
        };
        s.RunToCompletion();
        Assert.Empty(early);
    }

    [Theory]
    [InlineData(1, 1)]
    [InlineData(2, 1)]
    [InlineData(3, 4)]
    [InlineData(4, 16)]
    [InlineData(5, 64)]
    public void Random_loss_duplication_and_reordering(int seed, int windowSize)
    {
        var s = TftpScenario.Download(MemoryBlockSource.Content(200_000, seed), 1024, windowSize, seed);
        s.Link.LossRate = 0.05;
        s.Link.DuplicateRate = 0.05;
        s.Link.JitterMicros = 2_000;
        s.RunToCompletion();
    }

    [Theory]
    [InlineData(6, 1)]
    [InlineData(7, 8)]
    public void Random_loss_upload(int seed, int windowSize)
    {
        var s = TftpScenario.Upload(MemoryBlockSource.Content(150_000, seed), 1024, windowSize, seed);
        s.Link.LossRate = 0.05;
        s.Link.DuplicateRate = 0.05;
        s.Link.JitterMicros = 2_000;
        s.RunToCompletion();
    }

    [Fact]
    public void Blackout_drops_the_peer_after_five_timeouts_and_both_sides_free_their_state()
    {
        var s = TftpScenario.Download(MemoryBlockSource.Content(100_000, 12), 1024);
        s.Link.Drop = p => p.ToServer ? p.Opcode == TftpOpcode.Ack && p.Block >= 10 : false;
        s.Link.Run();
        Assert.Equal(TftpSessionState.Failed, s.Link.Server!.State);
        Assert.Equal(TftpFailureReason.PeerGone, s.Link.Server.Failure!.Reason);
        Assert.Equal(5, s.Link.Server.Stats.Timeouts);
        Assert.Equal(TftpSessionState.Failed, s.Link.Client.State);
        Assert.Equal(long.MaxValue, s.Link.Server.NextWakeupMicros);
    }

    [Fact]
    public void Request_with_only_invalid_options_gets_no_oack_and_rfc1350_defaults()
    {
        // blksize 7 is below RFC 2348's minimum: the server ignores it, sends no OACK and starts with DATA 1.
        var s = TftpScenario.Download(MemoryBlockSource.Content(3000, 14), 7, askSize: false);
        s.RunToCompletion();
        Assert.DoesNotContain(s.Link.Sent, p => p.Opcode == TftpOpcode.Oack);
        Assert.Equal(512, s.Link.Client.Parameters.BlockSize);
        Assert.Equal(6, s.Link.Sent.Count(p => p.Opcode == TftpOpcode.Data));
    }

    [Fact]
    public void Negotiated_timeout_drives_both_retransmission_timers()
    {
        var s = TftpScenario.Download(MemoryBlockSource.Content(3000, 16), 1000, timeoutSeconds: 2);
        bool dropped = false;
        long sentAt = 0;
        s.Link.Drop = p =>
        {
            if (!p.ToServer && p.IsData(2) && !dropped)
            {
                sentAt = s.Link.Now;
                return dropped = true;
            }

            if (!p.ToServer && p.IsData(2) && dropped)
            {
                // The retransmission comes one negotiated timeout (2 s) after the original.
                Assert.Equal(sentAt + (2 * TftpScenario.Second), s.Link.Now);
            }

            return false;
        };
        s.RunToCompletion();
        Assert.Equal(2 * TftpScenario.Second, s.Link.Client.Parameters.TimeoutMicros);
        Assert.Equal(2 * TftpScenario.Second, s.Link.Server!.Parameters.TimeoutMicros);
    }

    [Fact]
    public void Client_can_refuse_the_oack_with_error_8()
    {
        // Server misbehaves: grants a bigger block than asked. The client answers ERROR 8 and the server stops.
        var s = TftpScenario.Download(MemoryBlockSource.Content(3000, 15), 1000, policy: new TftpServerPolicy());
        s.Link.Drop = p =>
        {
            if (!p.ToServer && p.Opcode == TftpOpcode.Oack)
            {
                var forged = new byte[64];
                int n = TftpPacketWriter.WriteOack(forged, new[] { new TftpOption("blksize", "2000") });
                s.Link.Inject(new TftpLink.Packet(false, forged[..n], 0, 0));
                return true;
            }

            return false;
        };
        s.Link.Run();
        Assert.Equal(TftpFailureReason.ProtocolViolation, s.Link.Client.Failure!.Reason);
        Assert.Equal(TftpFailureReason.PeerError, s.Link.Server!.Failure!.Reason);
        Assert.Equal(TftpErrorCode.OptionNegotiation, s.Link.Server.Failure.Code);
    }
}
