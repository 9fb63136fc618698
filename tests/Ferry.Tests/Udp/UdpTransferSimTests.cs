using Ferry.Protocol.Common;
using Ferry.Protocol.Udp;
using Ferry.Tests.Udp.Sim;

namespace Ferry.Tests.Udp;

/// <summary>Whole transfers over the simulated network: exact outcomes, no duplicate writes, bounded steps.</summary>
public class UdpTransferSimTests
{
    private static byte[] RandomBytes(int seed, int length)
    {
        var data = new byte[length];
        new Random(seed).NextBytes(data);
        return data;
    }

    public static TheoryData<string> Conditions => new()
    {
        "clean", "loss5", "loss20", "burst", "reorder", "duplicate", "corrupt", "latency100ms", "everything",
    };

    private static LinkConfig Link(string condition) => condition switch
    {
        "clean" => new LinkConfig { Delay = 500 },
        "loss5" => new LinkConfig { Delay = 10_000, Loss = 0.05 },
        "loss20" => new LinkConfig { Delay = 10_000, Loss = 0.20 },
        "burst" => new LinkConfig { Delay = 10_000, BurstEnter = 0.02, BurstLeave = 0.2, BurstLoss = 1.0 },
        "reorder" => new LinkConfig { Delay = 5_000, Jitter = 4_000 },
        "duplicate" => new LinkConfig { Delay = 5_000, Duplicate = 0.2 },
        "corrupt" => new LinkConfig { Delay = 5_000, Corrupt = 0.1 },
        "latency100ms" => new LinkConfig { Delay = 100_000, RateBps = 100_000_000, QueuePackets = 2000 },
        "everything" => new LinkConfig { Delay = 20_000, Jitter = 5_000, Loss = 0.05, Duplicate = 0.05, Corrupt = 0.05, RateBps = 50_000_000, QueuePackets = 300 },
        _ => throw new ArgumentException(condition),
    };

    [Theory]
    [MemberData(nameof(Conditions))]
    public void Download_completes_identically(string condition)
    {
        var data = RandomBytes(1, 1_500_007);
        var sim = new SimTransfer(seed: 11, Link(condition), Link(condition));
        sim.ServerFiles["dir/file.bin"] = data;
        var result = sim.RunGet("dir/file.bin");

        Assert.True(result.Completed, $"{result.ClientCode}: {result.ClientMessage} after {result.Steps} steps");
        Assert.Equal(data, sim.ClientSink!.Data);
        Assert.Equal(0, sim.ClientSink.Rewrites);
        Assert.Equal(data.Length, sim.ClientSink.BytesWritten);
    }

    [Theory]
    [InlineData("loss20")]
    [InlineData("everything")]
    public void List_is_served_as_a_download_of_the_encoded_listing_over_a_lossy_link(string condition)
    {
        var entries = Enumerable.Range(0, 5000)
            .Select(i => new Ferry.Protocol.Listing.ListingEntry(Ferry.Protocol.Listing.ListingEntryType.File, 0x1A4, i, 1_700_000_000_000 + i, $"dir {i / 100}/file #{i}.bin"))
            .ToArray();
        byte[] listing = Ferry.Protocol.Listing.ListingCodec.Encode(entries);
        var sim = new SimTransfer(seed: 13, Link(condition), Link(condition));
        sim.ServerFiles["photos"] = listing;
        var result = sim.RunList("photos", flags: 1);

        Assert.True(result.Completed, $"{result.ClientCode}: {result.ClientMessage} after {result.Steps} steps");
        var request = Assert.Single(sim.ServerEvents, e => e.Kind == ConnectionEventKind.RequestReceived);
        Assert.Equal(Ferry.Protocol.Udp.Wire.TransferOp.List, request.Op);
        Assert.Equal(1, request.Size); // the listing flags: recursive
        Assert.Equal(0, sim.ClientSink!.Rewrites);
        Assert.True(Ferry.Protocol.Listing.ListingCodec.TryDecode(sim.ClientSink.Data, Ferry.Protocol.Listing.ListingCodec.MaxEntries, out var decoded, out string error), error);
        Assert.Equal(entries, decoded);
    }

    [Theory]
    [MemberData(nameof(Conditions))]
    public void Upload_completes_identically(string condition)
    {
        var data = RandomBytes(2, 1_200_001);
        var sim = new SimTransfer(seed: 12, Link(condition), Link(condition));
        var result = sim.RunPut("up/file.bin", data);

        Assert.True(result.Completed, $"{result.ClientCode}: {result.ClientMessage} after {result.Steps} steps");
        var sink = sim.Uploads["up/file.bin"];
        Assert.Equal(data, sink.Data);
        Assert.Equal(0, sink.Rewrites);
        Assert.Contains(sim.ClientEvents, e => e.Kind == ConnectionEventKind.ResultReceived && e.Code == TransferError.None);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(1405)]
    [InlineData(1406)]
    [InlineData(65536)]
    public void Edge_sizes_transfer_both_ways(int size)
    {
        var data = RandomBytes(size, size);
        var get = new SimTransfer(3, Link("loss5"), Link("loss5"));
        get.ServerFiles["f"] = data;
        var r1 = get.RunGet("f");
        Assert.True(r1.Completed, r1.ClientMessage);
        Assert.Equal(data, get.ClientSink!.Data);

        var put = new SimTransfer(4, Link("loss5"), Link("loss5"));
        var r2 = put.RunPut("f", data);
        Assert.True(r2.Completed, r2.ClientMessage);
        Assert.Equal(data, put.Uploads["f"].Data);
    }

    [Fact]
    public void Same_seed_gives_the_same_run()
    {
        var data = RandomBytes(5, 300_000);
        SimResult Once()
        {
            var sim = new SimTransfer(99, Link("everything"), Link("everything"));
            sim.ServerFiles["f"] = data;
            return sim.RunGet("f");
        }

        var a = Once();
        var b = Once();
        Assert.Equal(a.SimMicros, b.SimMicros);
        Assert.Equal(a.Steps, b.Steps);
        Assert.Equal(a.ClientStats.PacketsReceived, b.ClientStats.PacketsReceived);
    }

    [Fact]
    public void Blackout_longer_than_the_probe_timeout_is_survived()
    {
        var data = RandomBytes(6, 2_000_000);
        var sim = new SimTransfer(7, LinkConfig.Clean, LinkConfig.Clean);
        long t0 = sim.Now;
        // Both directions dark for 3 s, starting 200 ms in: mid-transfer, as 2 MB take 0.8 s at 20 Mbit/s.
        var dark = new[] { (t0 + 200_000, t0 + 3_200_000) };
        sim = new SimTransfer(7, new LinkConfig { Delay = 1_000, Blackouts = dark }, new LinkConfig { Delay = 1_000, RateBps = 20_000_000, Blackouts = dark });
        sim.ServerFiles["f"] = data;
        var result = sim.RunGet("f");

        Assert.True(result.Completed, result.ClientMessage);
        Assert.Equal(data, sim.ClientSink!.Data);
        Assert.True(result.SimMicros > 3_000_000, "the blackout must have been crossed");
        Assert.True(result.ClientStats.ProbeTimeouts + (result.ServerStats?.ProbeTimeouts ?? 0) > 0, "probe timeouts fire during the blackout");
    }

    [Fact]
    public void Datagrams_above_the_path_mtu_are_avoided_with_a_smaller_max_datagram()
    {
        var data = RandomBytes(8, 500_000);
        var link = new LinkConfig { Delay = 2_000, Mtu = 1280 };
        var sim = new SimTransfer(8, link, link, new ConnectionConfig { MaxDatagram = 1280 });
        sim.ServerFiles["f"] = data;
        var result = sim.RunGet("f");

        Assert.True(result.Completed, result.ClientMessage);
        Assert.Equal(data, sim.ClientSink!.Data);
        Assert.Equal(0, sim.Up.Dropped + sim.Down.Dropped);
    }

    [Fact]
    public void Download_of_a_missing_file_is_refused_with_its_code()
    {
        var sim = new SimTransfer(9, Link("loss5"), Link("loss5"));
        var result = sim.RunGet("nope.bin");

        Assert.False(result.Completed);
        Assert.Equal(TransferError.NotFound, result.ClientCode);
        Assert.Contains("nope.bin", result.ClientMessage);
    }

    [Fact]
    public void Server_refusal_reaches_an_uploading_client()
    {
        var sim = new SimTransfer(10, Link("clean"), Link("clean"))
        {
            ServerPolicy = ev => (TransferError.Busy, "already being uploaded by someone else"),
        };
        var result = sim.RunPut("busy.bin", RandomBytes(1, 5000));

        Assert.Equal(TransferError.Busy, result.ClientCode);
        // What went with the REQUEST (the whole 5,000-byte file here, and its last packet's bytes twice) and nothing
        // after the refusal.
        Assert.InRange(result.ClientStats.DataBytesSent, 0, 5000 + 1452);
        Assert.Empty(sim.Uploads);
    }

    [Fact]
    public void Upload_resume_sends_only_the_missing_ranges()
    {
        var data = RandomBytes(11, 1_000_000);
        var have = new RangeSet();
        have.Add(0, 400_000);
        have.Add(600_000, 700_000);
        var prefill = new byte[data.Length];
        data.AsSpan(0, 400_000).CopyTo(prefill);
        data.AsSpan(600_000, 100_000).CopyTo(prefill.AsSpan(600_000));
        var sim = new SimTransfer(11, Link("clean"), Link("clean")) { ServerHave = (have, prefill) };
        var result = sim.RunPut("r.bin", data);

        Assert.True(result.Completed, result.ClientMessage);
        Assert.Equal(data, sim.Uploads["r.bin"].Data);
        // The missing bytes once, plus what went with the REQUEST before the server's HAVE said it had them (the
        // file's first 64 KiB at most), plus the second copy of the last packet's bytes that guards the tail.
        long firstPass = result.ClientStats.DataBytesSent - result.ClientStats.DataBytesRetransmitted;
        Assert.InRange(firstPass, 500_000, 500_000 + Connection.EarlyDataWindow);
        Assert.InRange(result.ClientStats.DataBytesRetransmitted, 1, 1452);
        Assert.Equal(500_000, sim.Uploads["r.bin"].BytesWritten);
        Assert.Equal(500_000, sim.Client!.ResumedBytes);
        Assert.Equal(1_000_000, sim.Client.BytesDone);
    }

    [Fact]
    public void Download_resume_sends_only_the_missing_ranges()
    {
        var data = RandomBytes(12, 800_000);
        var have = new RangeSet();
        have.Add(100_000, 500_000);
        var prefill = new byte[data.Length];
        data.AsSpan(100_000, 400_000).CopyTo(prefill.AsSpan(100_000));
        var sim = new SimTransfer(12, Link("loss5"), Link("loss5")) { ClientHave = (have, prefill) };
        sim.ServerFiles["d.bin"] = data;
        var result = sim.RunGet("d.bin");

        Assert.True(result.Completed, result.ClientMessage);
        Assert.Equal(data, sim.ClientSink!.Data);
        Assert.Equal(400_000, sim.ClientSink.BytesWritten);
        Assert.Equal(0, sim.ClientSink.Rewrites);
    }

    [Fact]
    public void Corrupted_resumed_bytes_are_caught_by_the_whole_file_hash()
    {
        var data = RandomBytes(13, 300_000);
        var have = new RangeSet();
        have.Add(0, 100_000);
        var prefill = new byte[data.Length];
        data.AsSpan(0, 100_000).CopyTo(prefill);
        prefill[5000] ^= 0xFF; // the partial file was damaged while the transfer was interrupted
        var sim = new SimTransfer(13, Link("clean"), Link("clean")) { ServerHave = (have, prefill) };
        var result = sim.RunPut("x.bin", data);

        Assert.False(result.Completed);
        Assert.Contains(sim.ClientEvents, e => e.Kind == ConnectionEventKind.ResultReceived && e.Code == TransferError.Integrity);
    }

    [Fact]
    public void Vanished_server_ends_in_an_idle_timeout()
    {
        var data = RandomBytes(14, 3_000_000);
        var slow = new LinkConfig { Delay = 1_000, RateBps = 20_000_000 };
        var sim = new SimTransfer(14, slow, slow, new ConnectionConfig { IdleTimeout = 5_000_000 });
        sim.ServerFiles["f"] = data;
        sim.ServerDiesAt = sim.Now + 300_000;
        var result = sim.RunGet("f", maxSimMicros: 60_000_000);

        Assert.Equal(TransferError.IdleTimeout, result.ClientCode);
        Assert.InRange(result.SimMicros, 5_300_000, 6_300_000);
    }

    [Fact]
    public void No_server_at_all_times_out_the_handshake()
    {
        var sim = new SimTransfer(15, Link("clean"), Link("clean"), new ConnectionConfig { IdleTimeout = 3_000_000 });
        sim.ServerDiesAt = sim.Now;
        var result = sim.RunGet("f", maxSimMicros: 60_000_000);

        Assert.Equal(TransferError.IdleTimeout, result.ClientCode);
        Assert.Contains("no answer", result.ClientMessage);
        // Exponential backoff: a handful of Initials, not hundreds.
        Assert.InRange(result.ClientStats.PacketsSent, 2, 12);
    }

    [Fact]
    public void Receiver_disk_full_aborts_with_no_space()
    {
        var data = RandomBytes(16, 500_000);
        var sim = new SimTransfer(16, Link("clean"), Link("clean"));
        sim.ServerFiles["f"] = data;
        sim.OnStep = s =>
        {
            if (s.ClientSink is { } sink)
            {
                sink.FailAt = 200_000;
            }
        };
        var result = sim.RunGet("f");

        Assert.Equal(TransferError.NoSpace, result.ClientCode);
        Assert.True(sim.ClientSink!.BytesWritten <= 200_000);
    }
}
