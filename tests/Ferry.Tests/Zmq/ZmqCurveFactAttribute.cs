using Ferry.Zmq.Native;

namespace Ferry.Tests.Zmq;

/// <summary>A test that needs libzmq built with CURVE: skipped, saying why, otherwise.</summary>
public sealed class ZmqCurveFactAttribute : FactAttribute
{
    public ZmqCurveFactAttribute()
    {
        if (!ZmqLibrary.IsAvailable)
        {
            Skip = ZmqLibrary.InstallHint;
        }
        else if (!ZmqCurve.IsAvailable)
        {
            Skip = ZmqCurve.MissingHint;
        }
    }
}
