using Ferry.Files;
using Ferry.Zmq;
using Microsoft.Extensions.Time.Testing;
using static Ferry.Tests.Zmq.ZmqFrames;

namespace Ferry.Tests.Zmq;

/// <summary>The rules of the zmq:// upload protocol end to end: a real ROUTER on 127.0.0.1, raw DEALER clients.</summary>
public sealed class ZmqServerRulesTests
{
    /// <summary>A clock that moves only when told (timers fire inside Advance), far from the real date so code that reads the real clock cannot pass.</summary>
    private static FakeTimeProvider NewClock() => new(new DateTimeOffset(2031, 7, 4, 3, 2, 1, TimeSpan.Zero));

    [ZmqFact]
    public async Task Upload_with_pipelined_chunks_stores_the_exact_bytes()
    {
        await using var server = new ZmqServerFixture();
        using var c = new TestDealer(server.Endpoint);
        byte[] data = Bytes(1_000_003, 1);
        c.Upload("dir/sub/f.bin", data, chunk: 100_000, window: 6);
        Assert.Equal(data, server.ReadStored("dir/sub/f.bin"));
        var e = await server.NextEventAsync();
        Assert.Equal(ZmqTransferOutcome.Committed, e.Outcome);
        Assert.Equal(1_000_003, e.Bytes);
        Assert.Empty(server.TempFiles());
    }

    [ZmqFact]
    public async Task Empty_file_is_stored()
    {
        await using var server = new ZmqServerFixture();
        using var c = new TestDealer(server.Endpoint);
        c.Upload("empty", Array.Empty<byte>());
        Assert.Empty(server.ReadStored("empty"));
    }

    [ZmqFact]
    public async Task Rule1_chunk_or_close_without_hello_gets_error()
    {
        await using var server = new ZmqServerFixture();
        using var c = new TestDealer(server.Endpoint);
        Assert.Equal("ERROR no open transfer of 'f': send HELLO first", c.Call(Chunk("f", 0, Bytes(10, 1))));
        Assert.Equal("ERROR no open transfer of 'f': send HELLO first", c.Call(Close("f", 10)));

        // A HELLO for another name does not open this one (the filename must match the HELLO).
        Assert.Equal("READY", c.Call(Hello("g")));
        Assert.Equal("ERROR no open transfer of 'f': send HELLO first", c.Call(Chunk("f", 0, Bytes(10, 1))));
        Assert.False(File.Exists(server.PathOf("f")));
    }

    [ZmqFact]
    public async Task Rule2_chunk_overlapping_an_unanswered_chunk_gets_error_and_the_other_is_unaffected()
    {
        await using var server = new ZmqServerFixture();
        using var c = new TestDealer(server.Endpoint);
        byte[] data = Bytes(300, 2);

        // Queued before the connection is up, so the server receives them together; and A's reply must wait
        // behind the reply to a slow 8 MiB chunk of another file sent first: A is certainly unanswered when B
        // (overlapping A) arrives.
        byte[] slow = Bytes(8 << 20, 9);
        c.Send(Hello("slow"));
        c.Send(Hello("f"));
        c.Send(Chunk("slow", 0, slow));
        c.Send(Chunk("f", 0, data[..200]));      // A
        c.Send(Chunk("f", 150, data[150..200])); // B overlaps A
        c.Send(Chunk("f", 200, data[200..300])); // C adjacent to A
        Assert.Equal("READY", c.Receive());
        Assert.Equal("READY", c.Receive());
        Assert.Equal("READY", c.Receive());
        Assert.Equal("READY", c.Receive());
        Assert.Equal("ERROR chunk [150,200) overlaps chunk [0,200) that is still in transit", c.Receive());
        Assert.Equal("READY", c.Receive());

        // Once answered, A is no longer in transit: re-sending an overlapping range is fine.
        Assert.Equal("READY", c.Call(Chunk("f", 100, data[100..300])));
        Assert.Equal("READY", c.Call(Close("f", 300)));
        Assert.Equal(data, server.ReadStored("f"));
    }

    [ZmqFact]
    public async Task Rule2_bad_checksum_rejects_only_that_chunk()
    {
        await using var server = new ZmqServerFixture();
        using var c = new TestDealer(server.Endpoint);
        byte[] data = Bytes(200, 3);
        Assert.Equal("READY", c.Call(Hello("f")));
        var bad = Of("CHUNK", "f", "0", "100", Hex(data[100..]), data[..100]);
        c.Send(bad);
        c.Send(Chunk("f", 100, data[100..]));
        Assert.Equal($"ERROR checksum mismatch: the data hashes to {Hex(data[..100])}, not {Hex(data[100..])}", c.Receive());
        Assert.Equal("READY", c.Receive());
        Assert.Equal("READY", c.Call(Chunk("f", 0, data[..100])));
        Assert.Equal("READY", c.Call(Close("f", 200)));
        Assert.Equal(data, server.ReadStored("f"));
    }

    [ZmqFact]
    public async Task Rule3_close_with_a_gap_aborts_removes_the_temp_data_and_needs_a_new_hello()
    {
        await using var server = new ZmqServerFixture();
        using var c = new TestDealer(server.Endpoint);
        byte[] data = Bytes(300, 4);
        Assert.Equal("READY", c.Call(Hello("d/f")));
        Assert.Equal("READY", c.Call(Chunk("d/f", 0, data[..100])));
        Assert.Equal("READY", c.Call(Chunk("d/f", 200, data[200..])));
        Assert.Single(server.TempFiles());
        Assert.Equal("ERROR gap: bytes [100,200) never arrived; transfer aborted", c.Call(Close("d/f", 300)));
        var e = await server.NextEventAsync();
        Assert.Equal(ZmqTransferOutcome.Aborted, e.Outcome);
        Assert.Empty(server.TempFiles());
        Assert.False(File.Exists(server.PathOf("d/f")));

        Assert.Equal("ERROR no open transfer of 'd/f': send HELLO first", c.Call(Chunk("d/f", 100, data[100..200])));
        c.Upload("d/f", data);
        Assert.Equal(data, server.ReadStored("d/f"));
    }

    [ZmqFact]
    public async Task Rule3_close_size_must_equal_the_highest_chunk_end()
    {
        await using var server = new ZmqServerFixture();
        using var c = new TestDealer(server.Endpoint);
        byte[] data = Bytes(100, 5);
        Assert.Equal("READY", c.Call(Hello("f")));
        Assert.Equal("READY", c.Call(Chunk("f", 0, data)));
        Assert.Equal("ERROR size mismatch: CLOSE says 101 bytes but the chunks end at byte 100; transfer aborted", c.Call(Close("f", 101)));
        Assert.Empty(server.TempFiles());
        Assert.False(File.Exists(server.PathOf("f")));
        Assert.Equal(0, server.Context.Files.Registry.Count);
    }

    [ZmqFact]
    public async Task Rule4_hello_error_sets_up_nothing_and_leaves_other_transfers_untouched()
    {
        await using var server = new ZmqServerFixture();
        File.WriteAllText(server.PathOf("exists"), "old");
        using var c = new TestDealer(server.Endpoint);
        byte[] data = Bytes(1000, 6);
        Assert.Equal("READY", c.Call(Hello("open")));
        Assert.Equal("READY", c.Call(Chunk("open", 0, data[..500])));

        Assert.StartsWith("ERROR exists: 'exists' already exists on the server", c.Call(Hello("exists")));
        Assert.StartsWith("ERROR invalid-path: invalid path '../escape'", c.Call(Hello("../escape")));
        Assert.StartsWith("ERROR invalid-path: invalid path '/abs'", c.Call(Hello("/abs")));
        Assert.Equal("ERROR no open transfer of 'exists': send HELLO first", c.Call(Chunk("exists", 0, data)));
        Assert.Equal("old", File.ReadAllText(server.PathOf("exists")));

        // The transfer that was already open is unaffected.
        Assert.Equal("READY", c.Call(Chunk("open", 500, data[500..])));
        Assert.Equal("READY", c.Call(Close("open", 1000)));
        Assert.Equal(data, server.ReadStored("open"));
        Assert.Equal(0, server.Context.Files.Registry.Count);
    }

    [ZmqFact]
    public async Task Rule5_one_client_uploads_several_files_interleaved()
    {
        await using var server = new ZmqServerFixture();
        using var c = new TestDealer(server.Endpoint);
        var files = Enumerable.Range(0, 3).Select(i => Bytes(50_000 + i, 10 + i)).ToArray();
        foreach (var i in Enumerable.Range(0, 3))
        {
            c.Send(Hello($"m{i}"));
        }

        const int chunk = 10_000;
        int sent = 3;
        for (int off = 0; off < 50_002; off += chunk)
        {
            for (int i = 0; i < 3; i++)
            {
                if (off < files[i].Length)
                {
                    c.Send(Chunk($"m{i}", off, files[i][off..Math.Min(files[i].Length, off + chunk)]));
                    sent++;
                }
            }
        }

        for (int i = 0; i < 3; i++)
        {
            c.Send(Close($"m{i}", files[i].Length));
            sent++;
        }

        for (int k = 0; k < sent; k++)
        {
            Assert.Equal("READY", c.Receive());
        }

        for (int i = 0; i < 3; i++)
        {
            Assert.Equal(files[i], server.ReadStored($"m{i}"));
        }
    }

    [ZmqFact]
    public async Task Rule6_same_file_twice_is_refused_from_another_client_the_same_client_and_another_protocol()
    {
        await using var server = new ZmqServerFixture();
        using var a = new TestDealer(server.Endpoint);
        using var b = new TestDealer(server.Endpoint);
        Assert.Equal("READY", a.Call(Hello("same")));

        Assert.Equal("ERROR 'same' is already being uploaded on this connection: finish it with CLOSE first", a.Call(Hello("same")));
        string busy = b.Call(Hello("same"));
        Assert.StartsWith("ERROR busy: 'same' is being uploaded by zmq 127.0.0.1 id ", busy);

        // The first transfer still works; afterwards the name is free for the other client.
        byte[] data = Bytes(10, 1);
        Assert.Equal("READY", a.Call(Chunk("same", 0, data)));
        Assert.Equal("READY", a.Call(Close("same", 10)));
        Assert.Equal("READY", b.Call(Hello("same2")));

        // An upload of the path by another protocol (here: the engine used directly, as udp:// or tcp:// do).
        using (server.Context.Files.BeginUpload("other", 10, null, "tcp 127.0.0.1:4242"))
        {
            Assert.Equal("ERROR busy: 'other' is being uploaded by tcp 127.0.0.1:4242; try again later", b.Call(Hello("other")));
        }

        Assert.Equal("READY", b.Call(Hello("other")));

        // And the other way round: while zmq holds it, the engine refuses everyone else.
        var ex = Assert.Throws<FileEngineException>(() => server.Context.Files.BeginUpload("other", 10, null, "udp x"));
        Assert.Equal(FileErrorCode.Busy, ex.Code);
    }

    [ZmqFact]
    public async Task Rule7_a_vanished_client_transfer_expires_after_the_idle_timeout_and_the_name_is_free()
    {
        var clock = NewClock();
        await using var server = new ZmqServerFixture(idleTimeout: TimeSpan.FromSeconds(60), time: clock);
        using (var gone = new TestDealer(server.Endpoint))
        {
            Assert.Equal("READY", gone.Call(Hello("f")));
            Assert.Equal("READY", gone.Call(Chunk("f", 0, Bytes(100, 1))));
        }

        Assert.Single(server.TempFiles());
        using var other = new TestDealer(server.Endpoint);
        Assert.StartsWith("ERROR busy:", other.Call(Hello("f")));

        clock.Advance(TimeSpan.FromSeconds(59));
        Assert.StartsWith("ERROR busy:", other.Call(Hello("f")));

        clock.Advance(TimeSpan.FromSeconds(1));
        var e = await server.NextEventAsync();
        Assert.Equal(ZmqTransferOutcome.Expired, e.Outcome);
        Assert.Equal("f", e.FileName);
        Assert.Empty(server.TempFiles());
        Assert.Equal(0, server.Listener.OpenTransfers);

        byte[] data = Bytes(100, 2);
        other.Upload("f", data);
        Assert.Equal(data, server.ReadStored("f"));
    }

    [ZmqFact]
    public async Task Rule7_activity_postpones_the_idle_timeout()
    {
        var clock = NewClock();
        await using var server = new ZmqServerFixture(idleTimeout: TimeSpan.FromSeconds(10), time: clock);
        using var c = new TestDealer(server.Endpoint);
        byte[] data = Bytes(30, 3);
        Assert.Equal("READY", c.Call(Hello("f")));
        for (int i = 0; i < 3; i++)
        {
            clock.Advance(TimeSpan.FromSeconds(9));
            Assert.Equal("READY", c.Call(Chunk("f", i * 10, data[(i * 10)..((i + 1) * 10)])));
        }

        Assert.Equal("READY", c.Call(Close("f", 30)));
        Assert.Equal(ZmqTransferOutcome.Committed, (await server.NextEventAsync()).Outcome);
    }

    [ZmqFact]
    public async Task Replies_follow_each_client_request_order_even_when_a_slow_chunk_comes_first()
    {
        await using var server = new ZmqServerFixture();
        using var c = new TestDealer(server.Endpoint);
        byte[] big = Bytes(8 << 20, 4);
        c.Send(Hello("f"));
        c.Send(Chunk("f", 0, big));                 // slow: 8 MiB to hash and write in the actor
        c.Send(Of("JUNK"));                          // answered by the socket loop itself
        c.Send(Chunk("nofile", 0, Bytes(5, 1)));     // answered by the socket loop itself
        c.Send(Hello("g"));                          // another actor
        c.Send(Close("f", big.Length));
        Assert.Equal("READY", c.Receive());
        Assert.Equal("READY", c.Receive());
        Assert.Equal("ERROR unknown verb 'JUNK': expected HELLO, CHUNK or CLOSE", c.Receive());
        Assert.Equal("ERROR no open transfer of 'nofile': send HELLO first", c.Receive());
        Assert.Equal("READY", c.Receive());
        Assert.Equal("READY", c.Receive());
        Assert.Equal(big, server.ReadStored("f"));
    }

    [ZmqFact]
    public async Task Stopping_the_server_removes_the_temp_data_of_open_transfers()
    {
        var server = new ZmqServerFixture();
        string root = server.Root;
        using (var c = new TestDealer(server.Endpoint))
        {
            Assert.Equal("READY", c.Call(Hello("a/f")));
            Assert.Equal("READY", c.Call(Chunk("a/f", 0, Bytes(1000, 5))));
            Assert.Single(server.TempFiles());
            var registry = server.Context.Files.Registry;
            await server.DisposeAsync();
            Assert.Equal(0, registry.Count);
        }

        Assert.False(Directory.Exists(root) && Directory.GetFiles(root, "*", SearchOption.AllDirectories).Length > 0);
    }
}
