using Ferry.Protocol.Zmq;

namespace Ferry.Tests.Zmq;

public sealed class ZmqUploadPipelineTests
{
    private static List<ZmqOutgoing> Drain(ZmqUploadPipeline p)
    {
        var list = new List<ZmqOutgoing>();
        while (p.NextToSend() is { } o)
        {
            list.Add(o);
        }

        return list;
    }

    [Fact]
    public void Hello_then_a_window_of_chunks_then_close_after_every_ack()
    {
        var p = new ZmqUploadPipeline(length: 10, chunkSize: 3, window: 2);
        Assert.Equal(new[] { new ZmqOutgoing(ZmqVerb.Hello, 0, 0) }, Drain(p));
        p.OnReply(ZmqReply.Ready);
        Assert.Equal(ZmqUploadPhase.Chunks, p.Phase);
        Assert.Equal(new[] { new ZmqOutgoing(ZmqVerb.Chunk, 0, 3), new ZmqOutgoing(ZmqVerb.Chunk, 3, 3) }, Drain(p));
        Assert.Equal(new ZmqOutgoing(ZmqVerb.Chunk, 0, 3), p.OnReply(ZmqReply.Ready));
        Assert.Equal(new[] { new ZmqOutgoing(ZmqVerb.Chunk, 6, 3) }, Drain(p));
        p.OnReply(ZmqReply.Ready);
        Assert.Equal(new[] { new ZmqOutgoing(ZmqVerb.Chunk, 9, 1) }, Drain(p));
        p.OnReply(ZmqReply.Ready);
        Assert.Empty(Drain(p)); // one chunk still unanswered: no CLOSE yet
        p.OnReply(ZmqReply.Ready);
        Assert.Equal(10, p.BytesAcknowledged);
        Assert.Equal(new[] { new ZmqOutgoing(ZmqVerb.Close, 10, 0) }, Drain(p));
        Assert.Equal(ZmqUploadPhase.Close, p.Phase);
        p.OnReply(ZmqReply.Ready);
        Assert.Equal(ZmqUploadPhase.Done, p.Phase);
        Assert.Equal(4, p.ChunksSent);
        Assert.Empty(Drain(p));
    }

    [Fact]
    public void Empty_file_is_hello_then_close_zero()
    {
        var p = new ZmqUploadPipeline(0, 1 << 20, 16);
        Drain(p);
        p.OnReply(ZmqReply.Ready);
        Assert.Equal(new[] { new ZmqOutgoing(ZmqVerb.Close, 0, 0) }, Drain(p));
        p.OnReply(ZmqReply.Ready);
        Assert.Equal(ZmqUploadPhase.Done, p.Phase);
    }

    [Fact]
    public void An_error_fails_the_upload_and_names_the_request()
    {
        var p = new ZmqUploadPipeline(100, 10, 4);
        Drain(p);
        p.OnReply(ZmqReply.Ready);
        Drain(p);
        p.OnReply(ZmqReply.Ready);
        p.OnReply(ZmqReply.Fail("no-space: full"));
        Assert.Equal(ZmqUploadPhase.Failed, p.Phase);
        Assert.Equal("no-space: full", p.Error);
        Assert.Equal(new ZmqOutgoing(ZmqVerb.Chunk, 10, 10), p.FailedRequest);
        Assert.Empty(Drain(p));
        p.OnReply(ZmqReply.Ready); // late replies are consumed without effect
        Assert.Equal(ZmqUploadPhase.Failed, p.Phase);
        Assert.Throws<InvalidOperationException>(() => { p.OnReply(ZmqReply.Ready); p.OnReply(ZmqReply.Ready); });
    }

    [Fact]
    public void Hello_error_fails_before_any_chunk()
    {
        var p = new ZmqUploadPipeline(100, 10, 4);
        Drain(p);
        p.OnReply(ZmqReply.Fail("busy: x"));
        Assert.Equal(ZmqVerb.Hello, p.FailedRequest!.Value.Verb);
        Assert.Empty(Drain(p));
    }
}
