using Ferry.Files;
using Ferry.Tests.Files;

namespace Ferry.Tests.Zmq;

/// <summary>PartialFile.SetSize, added for zmq:// (size announced only at CLOSE).</summary>
public sealed class PartialFileSetSizeTests
{
    [Fact]
    public void Size_grows_with_the_data_and_may_shrink_back_to_what_was_received()
    {
        using var fx = new EngineFixture();
        using var incoming = fx.Engine.BeginUpload("grow.bin", 0, null, "test");
        var f = incoming.File;
        byte[] data = ZmqFrames.Bytes(100, 1);
        Assert.Throws<ArgumentOutOfRangeException>(() => f.Write(0, data));

        f.SetSize(100);
        f.Write(0, data[..50]);
        f.SetSize(200); // as if a later write had failed after raising it
        Assert.Throws<InvalidOperationException>(() => f.SetSize(49));
        f.SetSize(50);
        Assert.True(f.IsComplete);
        f.Commit(f.ComputeSha256());
        Assert.Equal(data[..50], File.ReadAllBytes(fx.InRoot("grow.bin")));
    }
}
