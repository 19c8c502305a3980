#!/usr/bin/env python3
"""bench/message_memory.py: the gateway's memory while it takes large messages at once (issue 23).

32 plaintext sessions each send one 30 MiB message at the same time (all of it but the end of data
first, then the ends), to a domain the gateway discards once the message is durably queued, so
that nothing but the receiving side is measured. Printed: the RSS before, the peak while receiving
(sampled every 20 ms; for sluice also the kernel's VmHWM), and the time until the last 250.

    python3 bench/message_memory.py                         # sluice from build/ (SLUICE_BIN)
    python3 bench/message_memory.py --sluice /tmp/sluice-before --sluice build/sluice
    python3 bench/message_memory.py --postfix                # also Postfix 3.7 (run as root)

Postfix is the gateway of bench/backlog.py (same configuration), with message_size_limit raised;
its RSS is the sum over the master and its children (smtpd, cleanup, ...), as there. Figures and
how to read them: bench/README.md.
"""

import argparse
import os
import re
import socket
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import backlog  # noqa: E402  (the gateways and their configuration)

MIB = 1024 * 1024
LIMIT = 40 * MIB


def status_kib(pid, field):
    try:
        with open(f"/proc/{pid}/status") as f:
            match = re.search(rf"^{field}:\s+(\d+) kB", f.read(), re.M)
            return int(match.group(1)) if match else 0
    except OSError:
        return 0


class Sampler(threading.Thread):
    """The largest sum of VmRSS over `pids()` seen, sampled every 20 ms."""

    def __init__(self, pids):
        super().__init__(daemon=True)
        self.pids, self.peak, self.done = pids, 0, threading.Event()

    def run(self):
        while not self.done.wait(0.02):
            self.peak = max(self.peak, sum(status_kib(p, "VmRSS") for p in self.pids()))


def reply(sock, buf=b""):
    while True:
        while b"\r\n" not in buf:
            chunk = sock.recv(65536)
            if not chunk:
                raise ConnectionError(f"closed: {buf!r}")
            buf += chunk
        line, buf = buf.split(b"\r\n", 1)
        if line[3:4] != b"-":
            return int(line[:3]), line.decode(errors="replace"), buf


def open_data(port):
    sock = socket.create_connection(("127.0.0.1", port), timeout=300)
    buf = b""
    for command in (None, b"EHLO bench.client", b"MAIL FROM:<app@sender.bench>", b"RCPT TO:<user@discard.bench>",
                    b"DATA"):
        if command:
            sock.sendall(command + b"\r\n")
        code, text, buf = reply(sock, buf)
        if code >= 400:
            backlog.die(f"{command}: {text}")
    return sock


def message(size):
    line = b"x" * 76 + b"\r\n"
    header = b"From: <app@sender.bench>\r\nSubject: large\r\nMessage-ID: <large@sender.bench>\r\n\r\n"
    return header + line * ((size - len(header)) // len(line))


def measure(port, pids, sessions, size):
    body = message(size)
    socks = [open_data(port) for _ in range(sessions)]
    before = sum(status_kib(p, "VmRSS") for p in pids())
    sampler = Sampler(pids)
    sampler.start()
    started = time.monotonic()
    senders = [threading.Thread(target=s.sendall, args=(body,)) for s in socks]
    for t in senders:
        t.start()
    for t in senders:
        t.join()
    for s in socks:
        s.sendall(b".\r\n")
    for s in socks:
        code, text, _ = reply(s)
        if code != 250:
            backlog.die(f"end of data: {text}")
        s.close()
    seconds = time.monotonic() - started
    sampler.done.set()
    sampler.join()
    return before, max(sampler.peak, sum(status_kib(p, "VmRSS") for p in pids())), seconds


def report(name, before, peak, seconds, hwm=None):
    extra = f", VmHWM {hwm / 1024:.0f} MiB" if hwm is not None else ""
    print(f"{name}: RSS {before / 1024:.0f} MiB before, peak {peak / 1024:.0f} MiB{extra}; last 250 after {seconds:.1f} s",
          flush=True)


def run_sluice(binary, sessions, size):
    backlog.SLUICE = binary
    with tempfile.TemporaryDirectory(prefix="sluice-mem-") as work:
        gw = backlog.SluiceGateway(work, backlog.free_port())
        with open(gw.config) as f:
            text = f.read()
        with open(gw.config, "w") as f:
            f.write(text.replace("[limits]\n", f"[limits]\nmax_message_size = {LIMIT}\n"))
        gw.start()
        try:
            before, peak, seconds = measure(gw.port, lambda: [gw.proc.pid], sessions, size)
            report(f"sluice ({binary})", before, peak, seconds, status_kib(gw.proc.pid, "VmHWM"))
        finally:
            gw.stop()


def run_postfix(sessions, size):
    with tempfile.TemporaryDirectory(prefix="postfix-mem-") as work:
        pf = backlog.PostfixGateway(work, backlog.free_port())
        with open(os.path.join(pf.conf, "main.cf"), "a") as f:
            f.write(f"message_size_limit = {LIMIT}\n")
        pf.start()
        try:
            before, peak, seconds = measure(pf.port, pf.pids, sessions, size)
            report("Postfix (master and children)", before, peak, seconds)
        finally:
            pf.stop()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sluice", action="append", help="a sluice binary (repeatable; default SLUICE_BIN)")
    parser.add_argument("--postfix", action="store_true", help="also measure Postfix")
    parser.add_argument("--sessions", type=int, default=32)
    parser.add_argument("--mib", type=int, default=30, help="message size in MiB")
    args = parser.parse_args()
    print(f"{args.sessions} sessions, one {args.mib} MiB message each, at once", flush=True)
    for binary in args.sluice or [backlog.SLUICE]:
        run_sluice(os.path.abspath(binary), args.sessions, args.mib * MIB)
    if args.postfix:
        run_postfix(args.sessions, args.mib * MIB)


if __name__ == "__main__":
    main()
