namespace Ferry.Protocol.Zmq;

/// <summary>What the shell must do after the session handled a request.</summary>
public enum ZmqStepKind
{
    /// <summary>Send <see cref="ZmqStep.Reply"/> now; nothing else to do.</summary>
    Reply,

    /// <summary>HELLO: acquire the file (lock + temp file), then call <see cref="ZmqUploadSession.OnHelloResult"/>.</summary>
    AcquireFile,

    /// <summary>CHUNK passed the rules: write the data at its offset, then call <see cref="ZmqUploadSession.OnChunkWritten"/>.</summary>
    Write,

    /// <summary>CLOSE passed the rules: fsync + rename into place, then call <see cref="ZmqUploadSession.OnCloseResult"/>.</summary>
    Commit,

    /// <summary>CLOSE broke a rule: remove the temp data, release the file, and send <see cref="ZmqStep.Reply"/> (an ERROR).</summary>
    Abort,
}
