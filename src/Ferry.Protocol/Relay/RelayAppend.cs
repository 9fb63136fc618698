namespace Ferry.Protocol.Relay;

/// <summary>A line the server core accepted and asks the store to append (in this order, with the next sequence numbers).</summary>
/// <param name="Session">Server session that posted it (for the POST_ACK).</param>
/// <param name="ClientId">The writer's stable id: with <paramref name="WriterSeq"/> the store's deduplication key.</param>
public readonly record struct RelayAppend(ulong Session, ulong ClientId, long WriterSeq, string Author, string Text);
