using Microsoft.Win32.SafeHandles;

namespace Ferry.Tcp;

/// <summary>
/// Where a sender's bytes come from: the open file, sent with sendfile when <see cref="Handle"/> is set, and a
/// positional read used when the bytes must pass through this process (a test hook that changes them).
/// </summary>
internal readonly record struct TcpSendSource(SafeFileHandle? Handle, TcpStreamSender.ReadAt Read);
