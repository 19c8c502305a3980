#!/usr/bin/env python3
"""bench/backlog.py: the deferred backlog, sluice and Postfix side by side in one run.

The scenario this project exists for: the next hop refuses (Exchange Online after the TLS change,
or a smart host that is down), mail piles up deferred, then the fix goes in. For each backlog size:

1. intake: smtp-source (32 sessions, 2 KiB messages, plaintext) first sends 2 x 2,000 messages
   that are accepted durably and discarded at once (a warm-up, then the reference for an empty
   queue), then the backlog in ten equal chunks into a gateway whose only route is a smart host
   on a closed port (retries and hop backoff 1 h, 20 connections per next hop); each chunk's rate
   is printed: the later tenths against the first (queue nearly empty);
2. the gateway's RSS with the backlog queued, and (sluice) the time a restart takes until a new
   connection gets its 220 banner, and `sluice queue list`;
3. drain: smtp-sink starts on that port, `sluice queue retry --all` / `postqueue -f`, and the
   time until the queue is empty.

Postfix 3.7 gets the same client, the same sink and `default_destination_concurrency_limit = 20`.
Run as root (Postfix's master). Usage:

    python3 bench/backlog.py                      # 20,000 and 100,000 messages
    python3 bench/backlog.py --messages 5000      # a quick look
    python3 bench/backlog.py --only sluice

Environment: SLUICE_BIN (default build/sluice). Figures and how to read them: bench/README.md.
"""

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SLUICE = os.environ.get("SLUICE_BIN", os.path.join(ROOT, "build", "sluice"))
SESSIONS = 32
SIZE = 2048
CHUNKS = 10
CONCURRENCY = 20
SENDER = "app@sender.bench"
RECIPIENT = "user@remote.bench"
DISCARDED = "user@discard.bench"  # accepted durably, then thrown away: the queue stays empty
WARMUP = 2000


def die(message):
    print(f"backlog.py: {message}", file=sys.stderr)
    sys.exit(1)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, timeout=60.0, proc=None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and (proc is None or proc.poll() is None):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.01)
    return False


def wait_banner(port, timeout=120.0, proc=None):
    """True once a connection gets the 220 greeting: the server listens and serves."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and (proc is None or proc.poll() is None):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
                s.settimeout(max(0.1, deadline - time.monotonic()))
                if s.recv(512).startswith(b"220"):
                    return True
        except OSError:
            time.sleep(0.01)
    return False


def rss_kib(pids):
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
        except OSError:
            pass
    return total


def smtp_source(port, count, recipient=RECIPIENT):
    """Sends `count` messages with smtp-source; returns the seconds it took."""
    start = time.monotonic()
    subprocess.run(["smtp-source", "-s", str(SESSIONS), "-l", str(SIZE), "-m", str(count), "-f", SENDER,
                    "-t", recipient, f"127.0.0.1:{port}"], check=True, stdout=subprocess.DEVNULL)
    return time.monotonic() - start


def empty_queue_intake(port, queued):
    """The reference: mail that is accepted durably and then discarded, so the queue stays empty.
    A first round warms both servers up (new spool files, page cache, process pools); the second
    is measured."""
    for round in ("warm-up", "measured"):
        seconds = smtp_source(port, WARMUP, DISCARDED)
        for _ in range(300):
            if queued() == 0:
                break
            time.sleep(0.1)
        print(f"    empty queue, {round}: {WARMUP} msgs in {seconds:6.2f} s = {WARMUP / seconds:7.1f} msgs/s",
              flush=True)
    # Let the file system write back what the reference left behind, so that it does not land on
    # the first chunk of the backlog.
    os.sync()
    time.sleep(2)
    return WARMUP / seconds


def intake(port, total, queued):
    """Ten chunks; returns their rates (messages per second). `queued()` counts the queue."""
    chunk = total // CHUNKS
    rates = [empty_queue_intake(port, queued)]
    for i in range(CHUNKS):
        seconds = smtp_source(port, chunk)
        rates.append(chunk / seconds)
        print(f"    chunk {i + 1:2d}: {chunk} msgs in {seconds:6.2f} s = {chunk / seconds:7.1f} msgs/s"
              f" (queue {queued()})", flush=True)
    return rates


def wait_drained(queued, expected, timeout):
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if queued() == 0:
            return time.monotonic() - start
        time.sleep(0.2)
    die(f"the queue did not drain in {timeout} s ({queued()} of {expected} left)")


class Sink:
    def __init__(self, port, work):
        self.log = open(os.path.join(work, "sink.log"), "w")
        # -c: count; 1000: listen backlog. smtp-sink answers everything with 2xx.
        self.proc = subprocess.Popen(["smtp-sink", "-u", "nobody", f"127.0.0.1:{port}", "1000"],
                                     stdout=self.log, stderr=self.log)
        if not wait_port(port):
            die("smtp-sink did not listen")

    def stop(self):
        self.proc.terminate()
        self.proc.wait()
        self.log.close()


# ---- sluice ---------------------------------------------------------------------------------------

class SluiceGateway:
    def __init__(self, work, sink_port):
        self.work = work
        self.state = os.path.join(work, "state")
        os.makedirs(self.state)
        self.port = free_port()
        self.config = os.path.join(work, "sluice.toml")
        with open(self.config, "w") as f:
            f.write(f"""state_dir = "{self.state}"
hostname = "sluice.bench"
relay_from = ["127.0.0.0/8"]
local_domains = ["discard.bench"]
local_delivery = "discard"

[limits]
max_connections_per_ip = 1000

[queue]
retry_min = "1h"
retry_max = "1h"
hop_backoff_max = "1h"
lifetime = "120h"

[[receive_connector]]
name = "Bench"
listen = ["127.0.0.1:{self.port}"]

[[send_connector]]
name = "Smart host"
address_spaces = ["*"]
smart_hosts = ["[127.0.0.1]:{sink_port}"]
tls = "none"
max_connections_per_host = {CONCURRENCY}
""")
        self.proc = None
        self.log = open(os.path.join(work, "sluice.log"), "a")

    def start(self):
        started = time.monotonic()
        self.proc = subprocess.Popen([SLUICE, "serve", "--config", self.config], stdout=self.log, stderr=self.log)
        if not wait_banner(self.port, 120, self.proc):
            die(f"sluice did not answer with a banner; see {self.log.name}")
        return time.monotonic() - started

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=120)

    def queued(self):
        return sum(1 for e in os.scandir(os.path.join(self.state, "queue")) if e.name.endswith(".json"))

    def wait_loaded(self):
        """Seconds until the restarted gateway has read its whole spool (queue list says so)."""
        start = time.monotonic()
        while True:
            out = subprocess.run([SLUICE, "queue", "--config", self.config, "list", "--json"], capture_output=True,
                                 text=True, check=True)
            if "loading" not in json.loads(out.stdout):
                return time.monotonic() - start
            time.sleep(0.05)

    def retry_all(self):
        out = subprocess.run([SLUICE, "queue", "--config", self.config, "retry", "--all", "--yes"], capture_output=True,
                             text=True, check=True)
        return out.stdout.strip()


def run_sluice(total, work):
    sink_port = free_port()
    gw = SluiceGateway(work, sink_port)
    gw.start()
    print(f"  sluice: {total} messages into a gateway whose next hop is down", flush=True)
    rates = intake(gw.port, total, gw.queued)
    time.sleep(1)
    queued = gw.queued()
    rss = rss_kib([gw.proc.pid])
    gw.stop()
    restart = gw.start()
    loaded = gw.wait_loaded() + restart
    rss_after_restart = rss_kib([gw.proc.pid])
    list_start = time.monotonic()
    subprocess.run([SLUICE, "queue", "--config", gw.config, "list"], check=True, stdout=subprocess.DEVNULL)
    list_s = time.monotonic() - list_start
    sink = Sink(sink_port, work)
    start = time.monotonic()
    said = gw.retry_all()
    drain = wait_drained(gw.queued, queued, timeout=max(600, total // 20))
    drain_total = time.monotonic() - start
    sink.stop()
    gw.stop()
    return {"rates": rates, "queued": queued, "rss_kib": rss, "rss_after_restart_kib": rss_after_restart,
            "restart_s": restart, "retry_said": said, "drain_s": drain_total, "drain_poll_s": drain,
            "commands": "1 x `sluice queue retry --all`", "list_s": list_s, "loaded_s": loaded}


# ---- Postfix --------------------------------------------------------------------------------------

class PostfixGateway:
    def __init__(self, work, sink_port):
        self.work = work
        self.conf = os.path.join(work, "etc")
        self.queue = os.path.join(work, "queue")
        self.port = free_port()
        os.chmod(work, 0o755)
        os.makedirs(self.queue)
        os.makedirs(os.path.join(work, "data"))
        shutil.chown(os.path.join(work, "data"), "postfix", "postfix")
        shutil.copytree("/etc/postfix", self.conf)
        with open(os.path.join(self.conf, "main.cf"), "w") as f:
            f.write(f"""compatibility_level = 3.6
queue_directory = {self.queue}
data_directory = {work}/data
myhostname = postfix.bench
mydestination =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
alias_maps =
alias_database =
maillog_file = {work}/postfix.log
maillog_file_prefixes = {work}
biff = no
smtp_dns_support_level = disabled
relayhost = [127.0.0.1]:{sink_port}
transport_maps = inline:{{discard.bench=discard:}}
default_destination_concurrency_limit = {CONCURRENCY}
minimal_backoff_time = 1h
maximal_backoff_time = 1h
queue_run_delay = 1h
maximal_queue_lifetime = 5d
smtpd_client_connection_count_limit = 0
smtpd_client_connection_rate_limit = 0
smtpd_client_message_rate_limit = 0
smtpd_client_event_limit_exceptions = 127.0.0.0/8
in_flow_delay = 0s
smtpd_peername_lookup = no
default_process_limit = 200
""")
        subprocess.run(["postconf", "-c", self.conf, "-F", "*/*/chroot = n"], check=True, stdout=subprocess.DEVNULL)
        subprocess.run(["postconf", "-c", self.conf, "-MX", "smtp/inet"], check=True, stdout=subprocess.DEVNULL)
        subprocess.run(["postconf", "-c", self.conf, "-M",
                        f"127.0.0.1:{self.port}/inet = 127.0.0.1:{self.port} inet n - n - - smtpd"],
                       check=True, stdout=subprocess.DEVNULL)
        subprocess.run(["postfix", "-c", self.conf, "check"], check=True)

    def start(self):
        started = time.monotonic()
        subprocess.run(["postfix", "-c", self.conf, "start"], check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
        if not wait_port(self.port, 120):
            die("Postfix did not listen")
        return time.monotonic() - started

    def stop(self):
        subprocess.run(["postfix", "-c", self.conf, "stop"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def queued(self):
        count = 0
        for sub in ("incoming", "active", "deferred", "maildrop"):
            for dirpath, _, files in os.walk(os.path.join(self.queue, sub)):
                count += len(files)
        return count

    def pids(self):
        master = open(os.path.join(self.queue, "pid", "master.pid")).read().strip()
        children = subprocess.run(["pgrep", "-P", master], capture_output=True, text=True).stdout.split()
        return [master] + children


def run_postfix(total, work):
    sink_port = free_port()
    pf = PostfixGateway(work, sink_port)
    pf.start()
    try:
        print(f"  Postfix: {total} messages into a Postfix whose relayhost is down", flush=True)
        rates = intake(pf.port, total, pf.queued)
        time.sleep(1)
        queued = pf.queued()
        rss = rss_kib(pf.pids())
        sink = Sink(sink_port, work)
        start = time.monotonic()
        # Postfix still holds the destination for dead when the flush starts: mail that reaches its
        # active queue before a delivery succeeds is deferred again ("delivery temporarily
        # suspended") for minimal_backoff_time. An administrator flushes again when the queue stops
        # shrinking; so does this, and counts the flushes.
        flushes = 0
        last, still = None, 0.0
        deadline = start + max(600, total // 20)
        while pf.queued() > 0:
            if time.monotonic() > deadline:
                die(f"Postfix did not drain ({pf.queued()} of {queued} left)")
            count = pf.queued()
            if flushes == 0 or (count == last and time.monotonic() - still > 3):
                subprocess.run(["postqueue", "-c", pf.conf, "-f"], check=True)
                flushes += 1
                still = time.monotonic()
            if count != last:
                last, still = count, time.monotonic()
            time.sleep(0.2)
        drain_total = time.monotonic() - start
        sink.stop()
    finally:
        pf.stop()
    return {"rates": rates, "queued": queued, "rss_kib": rss, "drain_s": drain_total,
            "commands": f"{flushes} x `postqueue -f`"}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, action="append", help="backlog size (repeatable)")
    parser.add_argument("--only", choices=["sluice", "postfix"])
    parser.add_argument("--keep", action="store_true", help="keep the work directories")
    args = parser.parse_args()
    sizes = args.messages or [20000, 100000]
    if os.geteuid() != 0:
        die("must run as root (Postfix's master runs as root)")
    for tool in ("smtp-source", "smtp-sink", "postfix", "postqueue"):
        if not shutil.which(tool):
            die(f"{tool} is not installed (apt-get install postfix)")
    if not os.access(SLUICE, os.X_OK):
        die(f"no sluice binary at {SLUICE} (build it, or set SLUICE_BIN)")

    rows = []
    for total in sizes:
        result = {"messages": total}
        for name, run in (("sluice", run_sluice), ("postfix", run_postfix)):
            if args.only and args.only != name:
                continue
            # Dirty pages of what came before (the other server's run) are written back first:
            # with them pending, the fsyncs of the server under test would wait for them too.
            os.sync()
            time.sleep(2)
            work = tempfile.mkdtemp(prefix=f"backlog-{name}-")
            try:
                result[name] = run(total, work)
            finally:
                if args.keep:
                    print(f"  work directory kept: {work}")
                else:
                    shutil.rmtree(work, ignore_errors=True)
        rows.append(result)

    print()
    print("| backlog | | sluice | Postfix |")
    print("|---|---|---|---|")
    figures = [
        ("intake of mail discarded at once (queue empty, files reused), msgs/s", lambda d: f"{d['rates'][0]:.0f}"),
        ("intake, first tenth of the backlog (queue nearly empty), msgs/s", lambda d: f"{d['rates'][1]:.0f}"),
        ("intake, last tenth of the backlog, msgs/s", lambda d: f"{d['rates'][-1]:.0f}"),
        ("slowest later tenth / first tenth", lambda d: f"{min(d['rates'][2:]) / d['rates'][1]:.2f}"),
        ("queued after intake", lambda d: f"{d['queued']}"),
        ("drain to the sink, msgs/s", lambda d: f"{d['queued'] / d['drain_s']:.0f}"),
        ("RSS with the backlog, MiB (Postfix: all its processes)", lambda d: f"{d['rss_kib'] / 1024:.0f}"),
        ("restart to the first 220 banner, s", lambda d: f"{d['restart_s']:.2f}" if "restart_s" in d else ""),
        ("restart until the whole spool is read, s", lambda d: f"{d['loaded_s']:.2f}" if "loaded_s" in d else ""),
        ("RSS after the restart, spool read, MiB", lambda d: f"{d['rss_after_restart_kib'] / 1024:.0f}" if "restart_s" in d else ""),
        ("commands to release the backlog", lambda d: d["commands"]),
        ("`sluice queue list` with the backlog, s", lambda d: f"{d['list_s']:.2f}" if "list_s" in d else ""),
        ("`queue retry --all` said", lambda d: d.get("retry_said", "")),
    ]
    for r in rows:
        for label, figure in figures:
            cells = [figure(r[name]) if name in r else "" for name in ("sluice", "postfix")]
            if any(cells):
                print(f"| {r['messages']:,} | {label} | {cells[0]} | {cells[1]} |")

if __name__ == "__main__":
    main()
