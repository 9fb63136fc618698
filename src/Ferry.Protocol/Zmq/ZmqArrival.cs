namespace Ferry.Protocol.Zmq;

/// <summary>
/// When a message arrived, in the server's per-client order: <see cref="Sequence"/> numbers every message the server
/// receives (across all clients, never reused); <see cref="FirstUnanswered"/> is the sequence number of the oldest
/// message of the same client still without a reply at that moment (or <see cref="Sequence"/> itself when none).
/// Messages of that client numbered in [FirstUnanswered, Sequence) were therefore "in transit" when this one arrived.
/// </summary>
public readonly record struct ZmqArrival(long Sequence, long FirstUnanswered);
