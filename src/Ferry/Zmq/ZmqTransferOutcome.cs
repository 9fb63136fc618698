namespace Ferry.Zmq;

/// <summary>How a zmq:// transfer ended.</summary>
public enum ZmqTransferOutcome
{
    /// <summary>CLOSE READY: the file is in place.</summary>
    Committed,

    /// <summary>CLOSE broke a rule (gap, size): temp data removed.</summary>
    Aborted,

    /// <summary>The commit failed (e.g. the target appeared meanwhile): temp data removed.</summary>
    Failed,

    /// <summary>No request within the idle timeout: temp data removed, filename free again.</summary>
    Expired,

    /// <summary>The server stopped: temp data removed.</summary>
    Shutdown,
}
