namespace Ferry.Protocol.Zmq;

/// <summary>The next request a client should send: HELLO, a CHUNK of [Offset, Offset+Length), or CLOSE with Offset = size.</summary>
public readonly record struct ZmqOutgoing(ZmqVerb Verb, long Offset, int Length);
