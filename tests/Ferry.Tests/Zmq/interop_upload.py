#!/usr/bin/python3
"""Interop client for Ferry's zmq:// upload protocol, written against python3-zmq only (no Ferry code).

Usage: interop_upload.py ENDPOINT LOCAL_FILE REMOTE_NAME CHUNK_SIZE WINDOW [SERVER_KEY [TOKEN]]

SERVER_KEY: the server's CURVE public key (Z85, as 'ferry serve' prints it) to connect with CURVE and a fresh
client key pair; "-" or absent for a plain connection. TOKEN: sent as HELLO's optional third frame.

Uploads LOCAL_FILE as REMOTE_NAME over a DEALER socket with up to WINDOW pipelined CHUNKs and checks every
reply, matching replies to requests by order. A chunk with a wrong checksum is slipped into the pipeline and
must be the only one refused. Then checks a few refusals and uploads a second copy over a REQ socket.
Prints "OK <sha256>" and exits 0, or prints what went wrong and exits 1.
"""
import collections
import hashlib
import sys

import zmq


def fail(message):
    print("FAIL " + message)
    sys.exit(1)


def chunk_message(name, offset, data, checksum=None):
    digest = checksum if checksum is not None else hashlib.sha256(data).hexdigest()
    return [b"CHUNK", name, str(offset).encode(), str(len(data)).encode(), digest.encode(), data]


def check(reply, expected, what):
    """expected: b"READY" or an ERROR text prefix (bytes)."""
    if expected == b"READY":
        if reply != [b"READY"]:
            fail("%s: expected READY, got %r" % (what, reply[:2]))
    elif len(reply) != 2 or reply[0] != b"ERROR" or not reply[1].startswith(expected):
        fail("%s: expected ERROR %r..., got %r" % (what, expected, reply[:2]))


def hello(name, token):
    return [b"HELLO", name] if token is None else [b"HELLO", name, token]


def secure(sock, server_key):
    """CURVE client: the server's key plus a throwaway key pair of our own."""
    if server_key is not None:
        public, secret = zmq.curve_keypair()
        sock.curve_serverkey = server_key
        sock.curve_publickey = public
        sock.curve_secretkey = secret


def upload_pipelined(sock, name, data, chunk, window, token):
    sock.send_multipart(hello(name, token))
    check(sock.recv_multipart(), b"READY", "HELLO")
    pending = collections.deque()
    offsets = list(range(0, len(data), chunk))
    for index, offset in enumerate(offsets):
        piece = data[offset:offset + chunk]
        if index == 2:
            # A corrupted copy of this chunk first: it alone must be refused, its good twin accepted after.
            bad = bytes([piece[0] ^ 0xFF]) + piece[1:]
            sock.send_multipart(chunk_message(name, offset, bad, hashlib.sha256(piece).hexdigest()))
            pending.append((b"checksum mismatch", "corrupted chunk at %d" % offset))
            # The good copy overlaps the corrupted one, which is still in transit: wait for its reply first.
            while pending:
                expected, what = pending.popleft()
                check(sock.recv_multipart(), expected, what)
        sock.send_multipart(chunk_message(name, offset, piece))
        pending.append((b"READY", "chunk at %d" % offset))
        while len(pending) >= window:
            expected, what = pending.popleft()
            check(sock.recv_multipart(), expected, what)
    while pending:
        expected, what = pending.popleft()
        check(sock.recv_multipart(), expected, what)
    sock.send_multipart([b"CLOSE", name, str(len(data)).encode()])
    check(sock.recv_multipart(), b"READY", "CLOSE")


def main():
    if len(sys.argv) not in (6, 7, 8):
        fail(__doc__)
    server_key = sys.argv[6].encode() if len(sys.argv) > 6 and sys.argv[6] != "-" else None
    token = sys.argv[7].encode() if len(sys.argv) > 7 else None
    endpoint, local, remote = sys.argv[1], sys.argv[2], sys.argv[3]
    chunk, window = int(sys.argv[4]), int(sys.argv[5])
    with open(local, "rb") as f:
        data = f.read()
    name = remote.encode("utf-8")

    context = zmq.Context()
    dealer = context.socket(zmq.DEALER)
    dealer.setsockopt(zmq.LINGER, 0)
    dealer.setsockopt(zmq.RCVTIMEO, 30000)
    dealer.setsockopt(zmq.SNDTIMEO, 30000)
    secure(dealer, server_key)
    dealer.connect(endpoint)
    try:
        upload_pipelined(dealer, name, data, chunk, window, token)

        # Refusals: the transfer is closed now, and the file exists.
        dealer.send_multipart(chunk_message(name, 0, data[:10]))
        check(dealer.recv_multipart(), b"no open transfer of", "CHUNK after CLOSE")
        dealer.send_multipart(hello(name, token))
        check(dealer.recv_multipart(), b"exists:", "second HELLO")
        if token is not None:
            dealer.send_multipart([b"HELLO", name + b".anon"])
            check(dealer.recv_multipart(), b"denied: ", "HELLO without the token")
        dealer.send_multipart([b"HELLO"])
        check(dealer.recv_multipart(), b"wrong frame count: HELLO takes 2 frames", "short HELLO")

        # A REQ socket works too (its empty delimiter frame is echoed back; pyzmq hides it).
        req = context.socket(zmq.REQ)
        req.setsockopt(zmq.LINGER, 0)
        req.setsockopt(zmq.RCVTIMEO, 30000)
        secure(req, server_key)
        req.connect(endpoint)
        copy = name + b".req"
        req.send_multipart(hello(copy, token))
        check(req.recv_multipart(), b"READY", "REQ HELLO")
        for offset in range(0, len(data), chunk):
            req.send_multipart(chunk_message(copy, offset, data[offset:offset + chunk]))
            check(req.recv_multipart(), b"READY", "REQ chunk at %d" % offset)
        req.send_multipart([b"CLOSE", copy, str(len(data)).encode()])
        check(req.recv_multipart(), b"READY", "REQ CLOSE")
        req.close()
    except zmq.Again:
        fail("no reply within 30 s")
    finally:
        dealer.close()
        context.term()
    print("OK " + hashlib.sha256(data).hexdigest())


if __name__ == "__main__":
    main()
