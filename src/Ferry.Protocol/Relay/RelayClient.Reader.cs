using Ferry.Protocol.Common;

namespace Ferry.Protocol.Relay;

/// <summary>Reader side: reorder buffer, in-order hand-off to the application, ACKs with ranges and a receive window.</summary>
public sealed partial class RelayClient
{
    private readonly Queue<RelayMessage> _ready = new();
    private readonly Dictionary<long, RelayMessage> _early = new();
    private readonly RangeSet _receivedAbove = new();
    private readonly RangeSet _prunedAbove = new();
    private long _next;
    private bool _ackDue;
    private long _ackDeadline = long.MaxValue;
    private int _unackedPackets;
    private uint _advertisedWindow;

    /// <summary>Next sequence the reader expects: every lower one was handed over (or reported pruned).</summary>
    public long NextSeq => _next;

    /// <summary>True when an ACK should go out now (e.g. reading reopened the window): the shell then polls transmit.</summary>
    public bool AckDue => _ackDue;

    /// <summary>Messages ready for <see cref="TryReadMessage"/>.</summary>
    public int ReadyCount => _ready.Count;

    /// <summary>Takes the next message in sequence order. Each sequence is returned at most once.</summary>
    public bool TryReadMessage(out RelayMessage? message)
    {
        if (!_ready.TryDequeue(out message))
        {
            return false;
        }

        // Reopen a window the server sees as (nearly) closed once half the buffer is free again.
        if (_advertisedWindow < (uint)_options.ReceiveCapacity / 2 && Window >= (uint)_options.ReceiveCapacity / 2)
        {
            _ackDue = true;
        }

        return true;
    }

    private uint Window => (uint)Math.Max(0, _options.ReceiveCapacity - _ready.Count);

    private void OnReaderRegistered(RelayRegisteredInfo info)
    {
        if (!_everRegistered)
        {
            _next = info.ReaderStart;
        }
        else if (info.ReaderStart > _next)
        {
            _events.Enqueue(new RelayClientEvent(RelayClientEventKind.HistoryPruned) { From = _next, To = info.ReaderStart });
            _next = info.ReaderStart;
        }

        _early.Clear();
        _receivedAbove.Clear();
        _prunedAbove.Clear();

        // The first ACK opens the server's window (and proves our address before it sends us anything).
        _ackDue = true;
    }

    private void OnDeliver(long first, bool pruned, int count, List<RelayMessage> messages, long now)
    {
        _unackedPackets++;
        long end = first + count;
        long limit = _next + Window;
        bool inOrder = first == _next;
        if (pruned)
        {
            long from = Math.Max(first, _next);
            if (from < end)
            {
                _prunedAbove.Add(from, end);
                _receivedAbove.Add(from, end);
            }
        }
        else
        {
            foreach (var m in messages)
            {
                long s = m.Seq;
                if (s < _next || _receivedAbove.Contains(s))
                {
                    Stats.DuplicateMessages++;
                    continue;
                }

                if (s >= limit)
                {
                    // Beyond what we advertised: the server should not send it. Drop without acknowledging.
                    continue;
                }

                Stats.MessagesReceived++;
                if (s == _next && _receivedAbove.IsEmpty)
                {
                    _ready.Enqueue(m);
                    _next++;
                }
                else
                {
                    _early[s] = m;
                    _receivedAbove.Add(s, s + 1);
                }
            }
        }

        Advance();
        if (!inOrder || !_receivedAbove.IsEmpty || _unackedPackets >= _options.AckEveryPackets || Window < (uint)_options.ReceiveCapacity / 4)
        {
            _ackDue = true;
        }
        else if (_ackDeadline == long.MaxValue)
        {
            _ackDeadline = now + _options.AckDelayMicros;
        }
    }

    private void Advance()
    {
        while (!_receivedAbove.IsEmpty && _receivedAbove.First.Start == _next)
        {
            if (_early.Remove(_next, out var m))
            {
                _ready.Enqueue(m);
                _next++;
            }
            else if (_prunedAbove.Contains(_next))
            {
                long end = _prunedAbove.ContiguousEnd(_next);
                _events.Enqueue(new RelayClientEvent(RelayClientEventKind.HistoryPruned) { From = _next, To = end });
                _next = end;
            }
            else
            {
                break;
            }

            _receivedAbove.Remove(0, _next);
            _prunedAbove.Remove(0, _next);
        }
    }

    private int WriteAck(Span<byte> buffer)
    {
        _ackDue = false;
        _ackDeadline = long.MaxValue;
        _unackedPackets = 0;
        _advertisedWindow = Window;
        Stats.AcksSent++;
        return RelayCodec.WriteAck(buffer, _session, _next, _advertisedWindow, _receivedAbove);
    }
}
