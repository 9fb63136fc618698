namespace Ferry.Security;

/// <summary>The server presented a key other than the pinned one.</summary>
public sealed class ServerKeyMismatchException : Exception
{
    public ServerKeyMismatchException(string message)
        : base(message)
    {
    }
}
