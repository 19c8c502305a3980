#!/usr/bin/env python3
"""bench/queue_list.py: how long `sluice queue list` takes on a large backlog.

Writes N deferred messages straight into a spool (the on-disk format of docs/queue.md: one in
ten from alerts@example.org, the rest spread over 50 senders and 20 destination domains, received
over the last two days), starts `sluice serve` on it (its next hops refuse connections and the
retries are an hour away, so nothing moves), waits until the spool is read, and times each
command a few times (the best and the median of 5 runs, wall clock, output to /dev/null):

    python3 bench/queue_list.py                 # 100,000 messages
    python3 bench/queue_list.py --messages 20000

Environment: SLUICE_BIN (default build/sluice). Figures: docs/queue.md, "Filters".
"""
import argparse
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SLUICE = os.environ.get("SLUICE_BIN", os.path.join(ROOT, "build", "sluice"))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def iso(t):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def write_spool(queue_dir, count):
    os.makedirs(queue_dir, mode=0o750)
    now = time.time()
    body = b"Subject: backlog\r\n\r\n" + b"x" * 2000 + b"\r\n"
    for i in range(count):
        queue_id = f"{0x0005F1A2B3C40000 + i:016X}"
        sender = "alerts@example.org" if i % 10 == 0 else f"user{i % 50}@example.org"
        received = now - 2 * 86400 + i * (2 * 86400 - 60) / count
        envelope = {
            "format": 1, "id": queue_id, "mail_from": sender,
            "recipients": [{"address": f"rcpt{i}@dest{i % 20}.example", "state": "deferred", "attempts": 3,
                            "last_reply": "421 4.4.2 Connection dropped due to SocketError",
                            "next_attempt": iso(now + 3600 + i % 600), "next_hop": "",
                            "last_attempt": iso(now - 60)}],
            "body_type": "8BITMIME", "smtputf8": False, "size": len(body), "received": iso(received),
            "client_address": "192.0.2.1", "client_helo": "mx.example.org", "connector": "Bench",
            "tls_version": "", "tls_cipher": "", "delay_warning_sent": False}
        with open(os.path.join(queue_dir, queue_id + ".eml"), "wb") as f:
            f.write(body)
        with open(os.path.join(queue_dir, queue_id + ".json"), "w") as f:
            json.dump(envelope, f)


def timed(args, runs=5):
    seconds = []
    for _ in range(runs):
        start = time.monotonic()
        subprocess.run([SLUICE, "queue", *args], check=True, stdout=subprocess.DEVNULL)
        seconds.append(time.monotonic() - start)
    return min(seconds), statistics.median(seconds)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=100_000)
    args = parser.parse_args()
    work = tempfile.mkdtemp(prefix="sluice-queue-list-")
    state = os.path.join(work, "state")
    try:
        started = time.monotonic()
        write_spool(os.path.join(state, "queue"), args.messages)
        print(f"wrote {args.messages} messages in {time.monotonic() - started:.1f} s", flush=True)
        config = os.path.join(work, "sluice.toml")
        with open(config, "w") as f:
            f.write(f'state_dir = "{state}"\nhostname = "bench.test"\n'
                    f'dns_servers = ["127.0.0.1:{free_port()}"]\n'
                    '[queue]\nretry_min = "1h"\nretry_max = "1h"\nlifetime = "120h"\n'
                    f'[[receive_connector]]\nname = "Bench"\nlisten = ["127.0.0.1:{free_port()}"]\n'
                    '[[send_connector]]\nname = "Smart host"\naddress_spaces = ["*"]\n'
                    f'smart_hosts = ["[127.0.0.1]:{free_port()}"]\ntls = "none"\n')
        log = open(os.path.join(work, "serve.log"), "w")
        gateway = subprocess.Popen([SLUICE, "serve", "--config", config], stdout=log, stderr=log)
        try:
            while True:
                p = subprocess.run([SLUICE, "queue", "--state-dir", state, "list", "--json"], capture_output=True,
                                   text=True)
                if p.returncode == 0 and "loading" not in json.loads(p.stdout):
                    break
                if gateway.poll() is not None:
                    sys.exit(f"sluice serve exited; see {log.name}")
                time.sleep(0.2)
            s = ["--state-dir", state]
            cases = [
                ("list (by next hop)", ["list", *s]),
                ("list --messages (first 1,000)", ["list", "--messages", *s]),
                ("list --messages --sender alerts@example.org --older-than 1d (first 1,000 of 5,000)",
                 ["list", "--messages", "--sender", "alerts@example.org", "--older-than", "1d", *s]),
                ("list --messages --recipient rcpt4242@* (1 match)", ["list", "--messages", "--recipient", "rcpt4242@*", *s]),
                ("list --messages --limit 0 (all)", ["list", "--messages", "--limit", "0", *s]),
                ("list --messages --limit 0 --json (all)", ["list", "--messages", "--limit", "0", "--json", *s]),
            ]
            print(f"{args.messages} queued messages; seconds, best and median of 5:")
            for name, command in cases:
                best, median = timed(command)
                print(f"  {name}: {best:.3f} / {median:.3f}", flush=True)
        finally:
            gateway.send_signal(signal.SIGTERM)
            gateway.wait(timeout=120)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
