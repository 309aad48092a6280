"""A userspace stand-in for `tc qdisc ... netem delay D [J] loss P%`, for kernels built without
sch_netem (CONFIG_NET_SCH_NETEM unset, as on this project's machines). Started by netns.ts inside
the bridge namespace; it forwards Ethernet frames between two links with AF_PACKET sockets:

    host's veth peer (UPSTREAM_FROM) --[delay, jitter, loss]--> WIRE_TO (a veth whose peer is a bridge port)
    host's veth peer (UPSTREAM_FROM) <--[as is]---------------- WIRE_TO

so, like netem on the host's interface, it shapes what the host sends. PACKET_VNET_HDR carries
each frame's virtio-net header through (checksum-offload and GSO state), so frames with partial
checksums and 64 KiB TSO frames are re-sent correctly without turning offloads off.

Usage: python3 netem-wire.py UPSTREAM_FROM WIRE_TO DELAY_MS JITTER_MS LOSS_FRACTION
A line "DELAY_MS JITTER_MS LOSS_FRACTION" on stdin changes the shaping; end of stdin stops it
(so it stops when its parent dies). Prints "ready" once both links are open.
"""

import heapq
import os
import random
import select
import socket
import sys
import time

ETH_P_ALL = 0x0003
SOL_PACKET = 263
PACKET_VNET_HDR = 15
PACKET_OUTGOING = 4
# virtio-net header (10 bytes) + a 64 KiB GSO frame + Ethernet header, with room to spare.
MAX_FRAME = 70000


def open_link(name):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    s.setsockopt(SOL_PACKET, PACKET_VNET_HDR, 1)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    s.bind((name, 0))
    s.setblocking(False)
    return s


def parse(words):
    delay_ms, jitter_ms, loss = (float(w) for w in words)
    return delay_ms / 1000.0, jitter_ms / 1000.0, loss


def send(sock, frame):
    try:
        sock.send(frame)
    except OSError:
        pass  # link down or buffer full: the frame is lost, as on a real wire


def main():
    upstream, wire = open_link(sys.argv[1]), open_link(sys.argv[2])
    delay, jitter, loss = parse(sys.argv[3:6])
    stdin = sys.stdin.fileno()
    pending = []  # heap of (due, seq, frame)
    seq = 0
    print("ready", flush=True)
    while True:
        timeout = max(0.0, pending[0][0] - time.monotonic()) if pending else None
        readable, _, _ = select.select([upstream, wire, stdin], [], [], timeout)
        for src in readable:
            if src == stdin:
                line = os.read(stdin, 4096)
                if not line:
                    return
                delay, jitter, loss = parse(line.split()[:3])
                continue
            while True:
                try:
                    frame, addr = src.recvfrom(MAX_FRAME)
                except BlockingIOError:
                    break
                if addr[2] == PACKET_OUTGOING:
                    continue  # our own transmission, seen by our own socket
                if src is wire:
                    send(upstream, frame)
                    continue
                if loss > 0 and random.random() < loss:
                    continue
                d = delay + (random.uniform(-jitter, jitter) if jitter > 0 else 0.0)
                if d <= 0:
                    send(wire, frame)
                else:
                    seq += 1
                    heapq.heappush(pending, (time.monotonic() + d, seq, frame))
        now = time.monotonic()
        while pending and pending[0][0] <= now:
            send(wire, heapq.heappop(pending)[2])


if __name__ == "__main__":
    main()
