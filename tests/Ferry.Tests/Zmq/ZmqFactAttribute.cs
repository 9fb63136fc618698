using Ferry.Zmq.Native;

namespace Ferry.Tests.Zmq;

/// <summary>A test that needs libzmq.so.5: skipped, saying what to install, when the library is missing.</summary>
public sealed class ZmqFactAttribute : FactAttribute
{
    public ZmqFactAttribute()
    {
        if (!ZmqLibrary.IsAvailable)
        {
            Skip = ZmqLibrary.InstallHint;
        }
    }
}
