namespace Ferry.Files;

/// <summary>
/// A refusal or failure of the file engine. <see cref="Exception.Message"/> is meant to be shown to a user
/// (it names the client's relative path, never the server's layout), <see cref="Code"/> goes on the wire.
/// </summary>
public sealed class FileEngineException : IOException
{
    public FileEngineException(FileErrorCode code, string message)
        : base(message)
    {
        Code = code;
    }

    public FileEngineException(FileErrorCode code, string message, Exception? inner)
        : base(message, inner)
    {
        Code = code;
    }

    public FileErrorCode Code { get; }
}
