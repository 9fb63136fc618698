using Ferry.Files;
using Ferry.Protocol.Udp;
using Ferry.Timing;
using Ferry.Transfers;

namespace Ferry.Udp;

/// <summary>Feeds a connection from a file through the engine's hashing read-ahead source.</summary>
internal sealed class FileDataSource : IDataSource, IDisposable
{
    private readonly HashingFileSource _source;
    private readonly string _name;

    public FileDataSource(HashingFileSource source, string name)
    {
        _source = source;
        _name = name;
    }

    public bool TryRead(long offset, Span<byte> destination, out TransferError error, out string message)
    {
        try
        {
            int n = _source.Read(offset, destination);
            if (n != destination.Length)
            {
                error = TransferError.Io;
                message = $"'{_name}' shrank while being sent";
                return false;
            }

            error = TransferError.None;
            message = string.Empty;
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            error = UdpErrors.ToWire(e);
            message = $"reading '{_name}': {e.Message}";
            return false;
        }
    }

    public bool TryCompleteHash(out byte[] sha256, out TransferError error, out string message)
    {
        try
        {
            sha256 = _source.CompleteHash();
            error = TransferError.None;
            message = string.Empty;
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            sha256 = Array.Empty<byte>();
            error = UdpErrors.ToWire(e);
            message = $"hashing '{_name}': {e.Message}";
            return false;
        }
    }

    public void Dispose() => _source.Dispose();
}

/// <summary>Feeds a connection from bytes in memory (a LIST's encoded listing).</summary>
internal sealed class MemoryDataSource(byte[] data) : IDataSource
{
    public bool TryRead(long offset, Span<byte> destination, out TransferError error, out string message)
    {
        if (offset < 0 || offset + destination.Length > data.LongLength)
        {
            error = TransferError.Io;
            message = "read past the end of the listing";
            return false;
        }

        data.AsSpan((int)offset, destination.Length).CopyTo(destination);
        error = TransferError.None;
        message = string.Empty;
        return true;
    }

    public bool TryCompleteHash(out byte[] sha256, out TransferError error, out string message)
    {
        sha256 = System.Security.Cryptography.SHA256.HashData(data);
        error = TransferError.None;
        message = string.Empty;
        return true;
    }
}

/// <summary>Writes a connection's data into a <see cref="PartialFile"/>, checkpointing its journal now and then.</summary>
internal sealed class PartialFileSink : IDataSink
{
    private const long CheckpointBytes = 64L << 20;
    private const long CheckpointMicros = 1_000_000;
    private readonly PartialFile _file;
    private readonly ShellClock _clock;
    private long _sinceCheckpoint;
    private long _lastCheckpoint;

    public PartialFileSink(PartialFile file, ShellClock clock)
    {
        _file = file;
        _clock = clock;
        _lastCheckpoint = clock.NowMicros;
        _file.HashInBackground = true; // the receiving loop only writes; SHA-256 runs on another core
    }

    public PartialFile File => _file;

    public bool TryWrite(long offset, ReadOnlySpan<byte> data, out TransferError error, out string message)
    {
        try
        {
            _file.Write(offset, data);
            _sinceCheckpoint += data.Length;
            if (_sinceCheckpoint >= CheckpointBytes || _clock.NowMicros - _lastCheckpoint >= CheckpointMicros)
            {
                // Makes what arrived durable and recorded, so an interruption (even kill -9) loses at most
                // 64 MiB or one second of transfer.
                _file.Checkpoint();
                _sinceCheckpoint = 0;
                _lastCheckpoint = _clock.NowMicros;
            }

            error = TransferError.None;
            message = string.Empty;
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            error = UdpErrors.ToWire(e);
            message = e.Message;
            return false;
        }
    }
}

/// <summary>The sink of an upload that carries no bytes (MKDIR): any write is past its end.</summary>
internal sealed class EmptyDataSink : IDataSink
{
    public static readonly EmptyDataSink Instance = new();

    public bool TryWrite(long offset, ReadOnlySpan<byte> data, out TransferError error, out string message)
    {
        error = data.IsEmpty ? TransferError.None : TransferError.ProtocolViolation;
        message = data.IsEmpty ? string.Empty : "MKDIR carries no data";
        return data.IsEmpty;
    }
}
