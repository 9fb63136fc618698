using Ferry.Protocol.Relay;

namespace Ferry.Relay;

/// <summary>
/// Durable storage of relay messages. SQLite by default (<see cref="SqliteMessageStore"/>); a PostgreSQL store can follow.
/// Appends come from one thread at a time; reads (<see cref="IRelayHistory"/>) may run concurrently with an append.
/// </summary>
public interface IMessageStore : IRelayHistory, IDisposable
{
    /// <summary>
    /// Stores <paramref name="appends"/> in order with consecutive sequence numbers after <see cref="IRelayHistory.LastSeq"/>, durably,
    /// before returning. A (client id, writer seq) pair that is already stored is not stored again: its result has a null message.
    /// On failure nothing of the batch is stored and the exception propagates.
    /// </summary>
    void Append(IReadOnlyList<RelayAppend> appends, List<RelayAppendResult> results);

    /// <summary>Deletes messages beyond the retention limits (never the newest); returns how many.</summary>
    int Prune(RelayRetention retention);
}
