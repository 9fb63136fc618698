using Ferry.Protocol.Tcp;

namespace Ferry.Tcp;

/// <summary>
/// Thread-safe shell around the pure <see cref="BlockScheduler"/> for the sending side of a transfer: streams
/// wait here for work, report ACKs, and hand back their items when they die. Completion (every missing byte
/// acknowledged) is a task the session awaits.
/// </summary>
internal sealed class TcpSendCoordinator
{
    private readonly Lock _sync = new();
    private readonly BlockScheduler _scheduler;
    private readonly TaskCompletionSource _completed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public TcpSendCoordinator(BlockScheduler scheduler)
    {
        _scheduler = scheduler;
        if (scheduler.IsComplete)
        {
            _completed.TrySetResult();
        }
    }

    public long FileSize => _scheduler.FileSize;

    public int BlockSize => _scheduler.BlockSize;

    public long BytesPresent => _scheduler.BytesPresent;

    public long BytesToSend => _scheduler.BytesToSend;

    public long BytesAcknowledged
    {
        get
        {
            lock (_sync)
            {
                return _scheduler.BytesAcknowledged;
            }
        }
    }

    public long ItemsRequeued
    {
        get
        {
            lock (_sync)
            {
                return _scheduler.ItemsRequeued;
            }
        }
    }

    /// <summary>Completes when every missing byte is acknowledged.</summary>
    public Task Completion => _completed.Task;

    /// <summary>Next item for <paramref name="stream"/>, waiting while others hold the rest; null once complete.</summary>
    public async ValueTask<TcpWorkItem?> TakeAsync(int stream, CancellationToken ct)
    {
        while (true)
        {
            Task changed;
            lock (_sync)
            {
                if (_scheduler.TryTake(stream, out var item))
                {
                    return item;
                }

                if (_scheduler.IsComplete)
                {
                    return null;
                }

                changed = _changed.Task;
            }

            // Nothing left to take but items still in flight elsewhere: wait for one to come back or for the end.
            await changed.WaitAsync(ct).ConfigureAwait(false);
        }
    }

    /// <summary>Records an ACK; false means the peer acknowledged something this stream does not hold.</summary>
    public bool Acknowledge(int stream, long offset, int length)
    {
        bool complete;
        lock (_sync)
        {
            if (_scheduler.Acknowledge(stream, offset, length) != TcpAckOutcome.Completed)
            {
                return false;
            }

            complete = _scheduler.IsComplete;
            if (complete)
            {
                PulseLocked();
            }
        }

        if (complete)
        {
            _completed.TrySetResult();
        }

        return true;
    }

    /// <summary>The stream died: its unacknowledged items return to the pool for the others. Returns how many.</summary>
    public int Release(int stream)
    {
        lock (_sync)
        {
            int n = _scheduler.ReleaseStream(stream);
            if (n > 0)
            {
                PulseLocked();
            }

            return n;
        }
    }

    private void PulseLocked()
    {
        var old = _changed;
        _changed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        old.TrySetResult();
    }
}
