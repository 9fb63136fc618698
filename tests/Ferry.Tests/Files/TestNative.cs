using System.Diagnostics;
using System.Runtime.InteropServices;

namespace Ferry.Tests.Files;

/// <summary>POSIX helpers the tests need to build hostile file trees (fifos, device nodes, small filesystems).</summary>
internal static partial class TestNative
{
    public static bool IsRoot => geteuid() == 0;

    public static void MakeFifo(string path)
    {
        if (mkfifo(path, 0x1B6) != 0)
        {
            throw new IOException($"mkfifo failed: errno {Marshal.GetLastPInvokeError()}");
        }
    }

    /// <summary>Creates a character device equal to /dev/null (major 1, minor 3). Needs root.</summary>
    public static void MakeNullDevice(string path)
    {
        ulong dev = (1UL << 8) | 3UL;
        if (mknod(path, Ferry.Files.NativeFile.S_IFCHR | 0x1B6u, dev) != 0)
        {
            throw new IOException($"mknod failed: errno {Marshal.GetLastPInvokeError()}");
        }
    }

    /// <summary>Reads a whole file without taking the advisory lock .NET's File APIs take (the engine holds one).</summary>
    public static unsafe byte[] ReadAllUnlocked(string path)
    {
        int fd = open(path, 0);
        if (fd < 0)
        {
            throw new IOException($"open failed: errno {Marshal.GetLastPInvokeError()}");
        }

        try
        {
            var result = new MemoryStream();
            var buf = new byte[65536];
            while (true)
            {
                nint n;
                fixed (byte* p = buf)
                {
                    n = read(fd, p, buf.Length);
                }

                if (n <= 0)
                {
                    return n == 0 ? result.ToArray() : throw new IOException("read failed");
                }

                result.Write(buf, 0, (int)n);
            }
        }
        finally
        {
            _ = close(fd);
        }
    }

    /// <summary>Runs a command and returns its exit code (stdout/stderr discarded).</summary>
    public static int Run(string file, params string[] args)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }

        using var p = Process.Start(psi)!;
        p.StandardOutput.ReadToEnd();
        p.StandardError.ReadToEnd();
        p.WaitForExit();
        return p.ExitCode;
    }

    [LibraryImport("libc", SetLastError = true)]
    private static partial uint geteuid();

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int open(string path, int flags);

    [LibraryImport("libc", SetLastError = true)]
    private static unsafe partial nint read(int fd, byte* buf, nint count);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int close(int fd);

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int mkfifo(string path, uint mode);

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int mknod(string path, uint mode, ulong dev);
}
