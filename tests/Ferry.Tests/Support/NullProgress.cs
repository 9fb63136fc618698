using Ferry.Transfers;

namespace Ferry.Tests.Support;

/// <summary>Records the last progress report (thread-safe).</summary>
internal sealed class RecordingProgress : IProgress<TransferProgress>
{
    private long _done;

    public long BytesDone => Interlocked.Read(ref _done);

    public void Report(TransferProgress value) => Interlocked.Exchange(ref _done, value.BytesDone);
}
