#!/usr/bin/env python3
"""
A fixed one-way delay for the network-namespace lab of test/netns.ts, for kernels built
without tc netem (and without fq/etf, so no eBPF departure times either).

Each host namespace sends its packets to NFQUEUE (an iptables rule the lab adds); this process
holds every queued packet in the kernel for DELAY_MS and only then tells the kernel to let it
through. The packet itself never leaves the kernel: only its id and metadata come up here
(copy mode META). Every delay is the same, so packets leave in the order they came, which lets
one batch verdict release everything that is due.

Stdlib only (raw netlink on an AF_NETLINK socket), so CI needs python3 and nothing compiled.
One process serves all hosts: it enters each namespace just long enough to open a socket
there, and a socket stays in the namespace it was made in.

usage: netns-delay.py DELAY_MS QUEUE_NUM NETNS_NAME...
Prints "ready" once every queue is bound; exits when stdin closes (the test, or its process,
ended) or on SIGTERM, and the kernel then drops the queues.
"""
import collections
import ctypes
import os
import select
import signal
import socket
import struct
import sys
import time

NETLINK_NETFILTER = 12
SOL_NETLINK = 270
NETLINK_NO_ENOBUFS = 5
CLONE_NEWNET = 0x40000000

NFNL_SUBSYS_QUEUE = 3
NFQNL_MSG_PACKET = 0
NFQNL_MSG_CONFIG = 2
NFQNL_MSG_VERDICT_BATCH = 3
NFQA_PACKET_HDR = 1
NFQA_VERDICT_HDR = 2
NFQA_CFG_CMD = 1
NFQA_CFG_PARAMS = 2
NFQA_CFG_QUEUE_MAXLEN = 3
NFQNL_CFG_CMD_BIND = 1
NFQNL_COPY_META = 1
NF_ACCEPT = 1
NLM_F_REQUEST = 1
NLM_F_ACK = 4
NLMSG_ERROR = 2


def attr(kind, payload):
    length = 4 + len(payload)
    return struct.pack('=HH', length, kind) + payload + b'\0' * (-length % 4)


def message(msg, queue, attrs, flags=NLM_F_REQUEST):
    # nfgenmsg: family AF_UNSPEC, version 0, then the queue number in network order.
    body = struct.pack('=BBH', socket.AF_UNSPEC, 0, socket.htons(queue)) + b''.join(attrs)
    return struct.pack('=IHHII', 16 + len(body), (NFNL_SUBSYS_QUEUE << 8) | msg, flags, 0, 0) + body


def config(sock, queue, attrs):
    """Sends one config message and waits for the kernel's answer, so that a refusal is seen."""
    sock.send(message(NFQNL_MSG_CONFIG, queue, attrs, NLM_F_REQUEST | NLM_F_ACK))
    data = sock.recv(65536)
    _, kind = struct.unpack_from('=IH', data)
    if kind == NLMSG_ERROR:
        (error,) = struct.unpack_from('=i', data, 16)
        if error:
            raise OSError(-error, os.strerror(-error))


def open_queue(netns, queue):
    libc = ctypes.CDLL(None, use_errno=True)
    home = os.open('/proc/self/ns/net', os.O_RDONLY)
    target = os.open(f'/run/netns/{netns}', os.O_RDONLY)
    try:
        if libc.setns(target, CLONE_NEWNET) != 0:
            raise OSError(ctypes.get_errno(), f'setns {netns}')
        sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_NETFILTER)
    finally:
        libc.setns(home, CLONE_NEWNET)
        os.close(home)
        os.close(target)
    # A lost notification would leave its packet queued for good: a big buffer, and no ENOBUFS
    # errors to trip over when the kernel has to drop one anyway (it then drops the packet too).
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    sock.setsockopt(SOL_NETLINK, NETLINK_NO_ENOBUFS, 1)
    sock.bind((0, 0))
    config(sock, queue, [attr(NFQA_CFG_CMD, struct.pack('=BBH', NFQNL_CFG_CMD_BIND, 0, 0))])
    config(sock, queue, [attr(NFQA_CFG_PARAMS, struct.pack('>IB', 0, NFQNL_COPY_META) + b'\0' * 3)])
    config(sock, queue, [attr(NFQA_CFG_QUEUE_MAXLEN, struct.pack('>I', 8192))])
    sock.setblocking(False)
    return sock


def packet_ids(data):
    """The ids of the queued packets in one read (the kernel may pack several messages)."""
    offset = 0
    while offset + 16 <= len(data):
        length, kind = struct.unpack_from('=IH', data, offset)
        if length < 16:
            break
        if kind == (NFNL_SUBSYS_QUEUE << 8) | NFQNL_MSG_PACKET:
            at = offset + 20
            while at + 4 <= offset + length:
                alen, atype = struct.unpack_from('=HH', data, at)
                if alen < 4:
                    break
                if atype & 0x3fff == NFQA_PACKET_HDR:
                    yield struct.unpack_from('>I', data, at + 4)[0]
                at += (alen + 3) & ~3
        offset += (length + 3) & ~3


def main():
    delay = float(sys.argv[1]) / 1000
    queue = int(sys.argv[2])
    socks = [open_queue(ns, queue) for ns in sys.argv[3:]]
    held = {sock: collections.deque() for sock in socks}
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print('ready', flush=True)
    watched = socks + [sys.stdin]
    while True:
        now = time.monotonic()
        due = [q[0][0] for q in held.values() if q]
        timeout = max(0.0, min(due) - now) if due else None
        readable, _, _ = select.select(watched, [], [], timeout)
        now = time.monotonic()
        for sock in readable:
            if sock is sys.stdin:
                if not os.read(sys.stdin.fileno(), 4096):
                    return
                continue
            while True:
                try:
                    data = sock.recv(65536)
                except BlockingIOError:
                    break
                for pid in packet_ids(data):
                    held[sock].append((now + delay, pid))
        for sock, q in held.items():
            last = None
            while q and q[0][0] <= now:
                last = q.popleft()[1]
            if last is not None:
                # A batch verdict accepts every packet up to this id: all of them are due.
                sock.send(message(NFQNL_MSG_VERDICT_BATCH, queue,
                                  [attr(NFQA_VERDICT_HDR, struct.pack('>II', NF_ACCEPT, last))]))


if __name__ == '__main__':
    main()
