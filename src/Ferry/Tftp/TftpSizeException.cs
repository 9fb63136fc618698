namespace Ferry.Tftp;

/// <summary>The data did not match the announced tsize (more bytes than announced, or fewer at the end).</summary>
internal sealed class TftpSizeException : IOException
{
    public TftpSizeException(string message)
        : base(message)
    {
    }
}
