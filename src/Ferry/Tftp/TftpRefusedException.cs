using Ferry.Protocol.Tftp;

namespace Ferry.Tftp;

/// <summary>The server refuses a request before any transfer starts; becomes one ERROR packet.</summary>
internal sealed class TftpRefusedException : Exception
{
    public TftpRefusedException(TftpErrorCode code, string message)
        : base(message)
    {
        Code = code;
    }

    public TftpErrorCode Code { get; }
}
