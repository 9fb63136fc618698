namespace Ferry.Relay;

/// <summary>
/// Wakes every waiter when something changed. Take <see cref="Task"/> before checking your condition, then await it:
/// a pulse between the check and the await is not lost.
/// </summary>
internal sealed class AsyncPulse
{
    private TaskCompletionSource _tcs = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public Task Task => Volatile.Read(ref _tcs).Task;

    public void Pulse()
    {
        var old = Interlocked.Exchange(ref _tcs, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
        old.TrySetResult();
    }
}
