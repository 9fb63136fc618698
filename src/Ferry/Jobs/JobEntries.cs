using Ferry.Protocol.Tcp;
using Ferry.Transfers;

namespace Ferry.Jobs;

/// <summary>What a carrier that moves a whole job in one session checks of the entries it is handed.</summary>
public static class JobEntries
{
    /// <summary>
    /// Throws unless <paramref name="entries"/> are in index order (each entry's index is its position) and no more
    /// than one session carries (usage error naming <paramref name="carrier"/>, e.g. "tcp:// carries in one session").
    /// </summary>
    public static void CheckForOneSession(IReadOnlyList<JobEntry> entries, string carrier)
    {
        if (entries.Count > TcpWire.MaxJobEntries)
        {
            throw new TransferException(ExitCode.Usage, $"a job of {entries.Count} entries is more than {carrier} ({TcpWire.MaxJobEntries})");
        }

        for (int i = 0; i < entries.Count; i++)
        {
            if (entries[i].Index != i)
            {
                throw new ArgumentException($"entry {i} has index {entries[i].Index}; entries must be in index order", nameof(entries));
            }
        }
    }
}
