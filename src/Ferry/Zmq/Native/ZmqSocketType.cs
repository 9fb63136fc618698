namespace Ferry.Zmq.Native;

/// <summary>The socket types Ferry needs (values from zmq.h).</summary>
public enum ZmqSocketType
{
    /// <summary>Only for reading a socket monitor's events (inproc).</summary>
    Pair = LibZmq.ZMQ_PAIR,
    Dealer = LibZmq.ZMQ_DEALER,
    Router = LibZmq.ZMQ_ROUTER,

    /// <summary>Only for the server's ZAP handler (inproc://zeromq.zap.01).</summary>
    Rep = LibZmq.ZMQ_REP,
}
