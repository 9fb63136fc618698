namespace Ferry.Transfers;

/// <summary>
/// A transfer URL, <c>scheme://host[:port]/path</c>, as <see cref="TransferClients.ParseUrl"/> reads it. The scheme,
/// host and port are the <see cref="Uri"/>'s (IPv6 hosts in brackets, default ports as for any Uri); the path is
/// <see cref="Path"/>, everything after the first '/' that follows the host and port, taken literally, as scp takes
/// the path after <c>host:</c>: no percent-decoding, no query, no fragment, so '#', '?', '%', spaces and any
/// Unicode character are part of the file name and the server stores exactly the name the user typed.
/// </summary>
public sealed class RemoteUrl : Uri, ISpanFormattable
{
    private readonly string _text;

    private readonly string _serverUrl;

    internal RemoteUrl(string text, string serverUrl, string path)
        : base(serverUrl)
    {
        _text = text;
        _serverUrl = serverUrl;
        Path = path;
    }

    /// <summary>The URL of <paramref name="path"/> (relative to the root, '/'-separated, taken literally) on the same server.</summary>
    public RemoteUrl WithPath(string path)
    {
        path = path.TrimStart('/');
        return new RemoteUrl(_serverUrl + path, _serverUrl, path);
    }

    /// <summary>"scheme://host:port", the server part of the URL as written, for messages and for telling servers apart.</summary>
    public string Server => _serverUrl.TrimEnd('/');

    /// <summary>The remote path exactly as given, without the leading '/' (empty when the URL names no path).</summary>
    public string Path { get; }

    /// <summary>The URL as the user wrote it (Uri's own form would percent-encode and cut the path).</summary>
    public override string ToString() => _text;

    // Uri formats itself in interpolated strings through ISpanFormattable, not ToString: re-implemented to match.
    string IFormattable.ToString(string? format, IFormatProvider? formatProvider) => _text;

    bool ISpanFormattable.TryFormat(Span<char> destination, out int charsWritten, ReadOnlySpan<char> format, IFormatProvider? provider)
    {
        charsWritten = _text.TryCopyTo(destination) ? _text.Length : 0;
        return charsWritten == _text.Length;
    }

    public override bool Equals(object? comparand) => comparand is RemoteUrl other && string.Equals(_text, other._text, StringComparison.Ordinal);

    public override int GetHashCode() => StringComparer.Ordinal.GetHashCode(_text);
}
