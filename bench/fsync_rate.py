#!/usr/bin/env python3
"""How many durable writes a disk does per second: the ceiling under a gateway's spool
(docs/scaling.md, "The spool disk"). Each of --threads threads overwrites its own file in DIR
with --size octets and fdatasync()s it, again and again, for --seconds; the result is the
rate of all threads together and the latency of one fdatasync (p50, p99).

    python3 bench/fsync_rate.py /var/spool/sluice --threads 1
    python3 bench/fsync_rate.py /var/spool/sluice --threads 8 --json

Run it on the file system of the spool (state_dir), on an otherwise quiet machine. One thread
shows the flush latency (a session that waits for its own fsync); several show what the device
does with writes in parallel, which a gateway's concurrent sessions and its group commit use."""
import argparse
import json
import os
import tempfile
import threading
import time


def worker(directory, size, until, latencies):
    fd, path = tempfile.mkstemp(prefix=".fsync-rate-", dir=directory)
    try:
        data = os.urandom(size)
        while time.monotonic() < until:
            os.pwrite(fd, data, 0)
            t = time.monotonic()
            os.fdatasync(fd)
            latencies.append(time.monotonic() - t)
    finally:
        os.close(fd)
        os.unlink(path)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("dir", help="a directory on the file system to measure")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--seconds", type=float, default=5)
    p.add_argument("--size", type=int, default=2048, help="octets per write (default 2048)")
    p.add_argument("--json", action="store_true")
    a = p.parse_args()
    if a.threads < 1 or a.seconds <= 0 or a.size < 1:
        p.error("--threads, --seconds and --size must be positive")
    if not os.path.isdir(a.dir):
        p.error(f"{a.dir}: not a directory")
    until = time.monotonic() + a.seconds
    per_thread = [[] for _ in range(a.threads)]
    threads = [threading.Thread(target=worker, args=(a.dir, a.size, until, l)) for l in per_thread]
    start = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - start
    lat = sorted(x for l in per_thread for x in l)
    if not lat:
        p.error("no fdatasync finished in the time given")
    result = {"dir": a.dir, "threads": a.threads, "size": a.size, "seconds": round(elapsed, 3),
              "fdatasyncs": len(lat), "per_s": round(len(lat) / elapsed, 1),
              "p50_ms": round(lat[len(lat) // 2] * 1000, 3), "p99_ms": round(lat[int(len(lat) * 0.99)] * 1000, 3)}
    if a.json:
        print(json.dumps(result))
    else:
        print(f"{result['per_s']} fdatasync/s with {a.threads} thread(s) of {a.size}-octet writes in {a.dir}: "
              f"p50 {result['p50_ms']} ms, p99 {result['p99_ms']} ms ({result['fdatasyncs']} in {result['seconds']} s)")


if __name__ == "__main__":
    main()
