namespace Ferry.Zmq.Native;

/// <summary>The socket types Ferry needs (values from zmq.h).</summary>
public enum ZmqSocketType
{
    Dealer = LibZmq.ZMQ_DEALER,
    Router = LibZmq.ZMQ_ROUTER,
}
