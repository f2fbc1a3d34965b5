#!/usr/bin/env python3
"""User-space impairing link between two TUN devices (the kernel here has no netem).

Creates TUN devices A and B in the current network namespace, prints READY, then forwards every IP
packet A->B and B->A after a fixed one-way delay, dropping each packet with probability LOSS.
Both kernel TCP and PTCP (UDP) traffic cross the same link, so both see the same impairment.
The caller moves the devices into their namespaces after READY. Stops on SIGTERM or after MAX_SECONDS.

usage: impair.py DEV_A DEV_B DELAY_MS LOSS_PERCENT SEED MAX_SECONDS
"""
import collections, fcntl, os, random, select, signal, struct, sys, time

TUNSETIFF = 0x400454ca
IFF_TUN, IFF_NO_PI = 0x0001, 0x1000


def tun(name):
    fd = os.open("/dev/net/tun", os.O_RDWR | os.O_NONBLOCK)
    fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", name.encode(), IFF_TUN | IFF_NO_PI))
    return fd


def main():
    a_name, b_name = sys.argv[1], sys.argv[2]
    delay = float(sys.argv[3]) / 1000.0
    loss = float(sys.argv[4]) / 100.0
    rnd = random.Random(int(sys.argv[5]))
    stop_at = time.monotonic() + float(sys.argv[6])
    fa, fb = tun(a_name), tun(b_name)
    print("READY", flush=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    queues = {fa: collections.deque(), fb: collections.deque()}  # destination fd -> (due, packet)
    other = {fa: fb, fb: fa}
    dropped = forwarded = 0
    poller = select.poll()
    poller.register(fa, select.POLLIN)
    poller.register(fb, select.POLLIN)
    while time.monotonic() < stop_at:
        now = time.monotonic()
        due = min((q[0][0] for q in queues.values() if q), default=now + 0.05)
        timeout_ms = max(0, (due - now) * 1000.0)
        for fd, _ in poller.poll(timeout_ms):
            for _ in range(256):
                try:
                    pkt = os.read(fd, 65536)
                except BlockingIOError:
                    break
                if loss > 0 and rnd.random() < loss:
                    dropped += 1
                    continue
                queues[other[fd]].append((time.monotonic() + delay, pkt))
        now = time.monotonic()
        for fd, q in queues.items():
            while q and q[0][0] <= now:
                _, pkt = q.popleft()
                try:
                    os.write(fd, pkt)
                    forwarded += 1
                except (BlockingIOError, OSError):
                    dropped += 1
    print(f"forwarded={forwarded} dropped={dropped}", flush=True)


if __name__ == "__main__":
    main()
