#!/usr/bin/env python3
"""The libzmq end of bench/netmq-interop.sh (python3-zmq); bench/NetMqInterop is the NetMQ end, same arguments:
  server PORT plain|curve             ROUTER on 127.0.0.1:PORT with a ZAP handler (CURVE: any client key, named as
                                      its User-Id); prints "KEY <z85>|plain" once bound, answers READY, stops at STOP
  client PORT plain|SERVERKEY N SIZE  DEALER sending N requests [CHUNK, SIZE bytes], 16 in flight, then STOP
  events PORT SERVERKEY SECONDS       DEALER with that server key: prints the monitor events seen in SECONDS
"""
import os
import sys
import time

import zmq
import zmq.auth
from zmq.auth.thread import ThreadAuthenticator
from zmq.utils.monitor import recv_monitor_message


def prop(frame, name):
    try:
        return frame.get(name)
    except zmq.ZMQError:
        return None


def serve(ctx, endpoint, curve):
    router = ctx.socket(zmq.ROUTER)
    router.maxmsgsize = 16 << 20
    router.rcvhwm = 64
    key = "plain"
    if curve:
        auth = ThreadAuthenticator(ctx)
        auth.start()
        auth.configure_curve(domain="*", location=zmq.auth.CURVE_ALLOW_ANY)
        public, secret = zmq.curve_keypair()
        router.curve_server = True
        router.curve_secretkey = secret
        key = public.decode()
    router.bind(endpoint)
    print("KEY", key, flush=True)
    router.rcvtimeo = 60000
    n = 0
    while True:
        try:
            parts = router.recv_multipart(copy=False)
        except zmq.Again:
            break
        n += 1
        if n == 1:
            print(f"server: first request from routing id {parts[0].bytes.hex().upper()}, "
                  f"User-Id {prop(parts[1], 'User-Id')}, Peer-Address {prop(parts[1], 'Peer-Address')}", flush=True)
        router.send_multipart([parts[0], b"READY"])
        if parts[1].bytes == b"STOP":
            break
    print(f"server: {n} requests", flush=True)
    router.close(linger=1000)
    os._exit(0)


def dealer(ctx, server_key):
    d = ctx.socket(zmq.DEALER)
    if server_key != "plain":
        public, secret = zmq.curve_keypair()
        d.curve_publickey, d.curve_secretkey, d.curve_serverkey = public, secret, server_key.encode()
    return d


def send(ctx, endpoint, server_key, count, size, window=16):
    d = dealer(ctx, server_key)
    d.connect(endpoint)
    d.rcvtimeo = 30000
    payload = os.urandom(size)
    start = time.perf_counter()
    sent = answered = 0
    while answered < count:
        while sent < count and sent - answered < window:
            d.send_multipart([b"CHUNK", payload], copy=False)
            sent += 1
        try:
            d.recv()
        except zmq.Again:
            print(f"client: no reply after {answered} replies", flush=True)
            sys.exit(1)
        answered += 1
    seconds = time.perf_counter() - start
    print(f"client OK {count} x {size} B in {seconds:.2f} s = {count * size / seconds / 1e6:.0f} MB/s", flush=True)
    d.send(b"STOP")
    d.close(linger=1000)


def watch(ctx, endpoint, server_key, seconds):
    names = {getattr(zmq, n): n[6:] for n in dir(zmq) if n.startswith("EVENT_") and isinstance(getattr(zmq, n), int)}
    d = dealer(ctx, server_key)
    monitor = d.get_monitor_socket()
    d.connect(endpoint)
    d.send(b"STOP")
    seen = {}
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if monitor.poll(100):
            event = recv_monitor_message(monitor)["event"]
            seen[names.get(event, event)] = seen.get(names.get(event, event), 0) + 1
    replied = d.poll(0) != 0
    print(f"events in {seconds} s: {', '.join(f'{k} x{v}' for k, v in sorted(seen.items()))}; reply: {'yes' if replied else 'none'}")
    os._exit(0)


def main():
    mode, port = sys.argv[1], int(sys.argv[2])
    endpoint = f"tcp://127.0.0.1:{port}"
    ctx = zmq.Context()
    if mode == "server":
        serve(ctx, endpoint, sys.argv[3] == "curve")
    elif mode == "client":
        send(ctx, endpoint, sys.argv[3], int(sys.argv[4]), int(sys.argv[5]))
    elif mode == "events":
        watch(ctx, endpoint, sys.argv[3], int(sys.argv[4]))
    else:
        sys.exit(f"unknown mode {mode}")


if __name__ == "__main__":
    main()
