using System.Diagnostics;
using Ferry.Zmq.Native;

namespace Ferry.Tests.Zmq;

/// <summary>A test that needs libzmq and python3-zmq under /usr/bin/python3: skipped, saying what to install, otherwise.</summary>
public sealed class PythonZmqFactAttribute : FactAttribute
{
    public const string Python = "/usr/bin/python3";

    private static readonly Lazy<string?> s_missing = new(Probe);

    public PythonZmqFactAttribute()
    {
        if (!ZmqLibrary.IsAvailable)
        {
            Skip = ZmqLibrary.InstallHint;
        }
        else if (s_missing.Value is { } why)
        {
            Skip = why;
        }
    }

    /// <summary>The test also needs libzmq with CURVE.</summary>
    public bool Curve { get; set; }

    public override string Skip
    {
        get => base.Skip ?? (Curve && !ZmqCurve.IsAvailable ? ZmqCurve.MissingHint : null)!;
        set => base.Skip = value;
    }

    private static string? Probe()
    {
        if (!File.Exists(Python))
        {
            return $"{Python} not found: install the Debian packages python3 and python3-zmq (sudo apt-get install python3-zmq)";
        }

        try
        {
            using var p = Process.Start(new ProcessStartInfo(Python, "-c \"import zmq\"") { RedirectStandardError = true, RedirectStandardOutput = true })!;
            if (!p.WaitForExit(30_000) || p.ExitCode != 0)
            {
                return $"{Python} cannot import zmq: install the Debian package python3-zmq (sudo apt-get install python3-zmq)";
            }
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            return $"cannot run {Python}: {e.Message}";
        }

        return null;
    }
}
