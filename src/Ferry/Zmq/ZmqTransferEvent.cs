namespace Ferry.Zmq;

/// <summary>The end of one zmq:// transfer (for logs and tests).</summary>
public sealed record ZmqTransferEvent(string FileName, string Peer, ZmqTransferOutcome Outcome, long Bytes, string? Error);
