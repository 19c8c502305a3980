#!/usr/bin/env python3
"""sluice probe against sslscan and testssl.sh, side by side in one run, on loopback.

1. Per host: a full assessment (every TLS version, every cipher suite, the certificate) of one
   target, with each tool: sluice probe (median of 5), sslscan (median of 3), testssl.sh (one run:
   `-p -E -S`, protocols, ciphers per protocol, server defaults incl. certificate; always
   `--nodns none`). Targets: `sluice serve` (TLS 1.2+), Postfix (TLS 1.0 to 1.3).
2. Throughput: sluice probe over 200 loopback targets (100 sluice connectors and 100 Postfix
   listeners, each its own port), with the servers cold and then warm; and over 200 targets that
   are all sluice connectors (the same 100 on a second address), to show the probe's own pace when
   the servers cost little; and over 10 Postfix listeners among 190 sluice targets. Each line
   splits the CPU time into the probe, sluice serve and Postfix.

Usage: SLUICE_BIN=build/sluice python3 bench/probe_vs_peers.py [--quick] (run as root: Postfix)."""
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "e2e"))
os.environ.setdefault("SLUICE_BIN", os.path.join(HERE, "..", "build", "sluice"))

import harness  # noqa: E402
from postfix_peer import PostfixPeer, make_certificate  # noqa: E402

QUICK = "--quick" in sys.argv
TESTSSL = shutil.which("testssl") or shutil.which("testssl.sh")
SSLSCAN = shutil.which("sslscan")
LISTENERS = 100
SEVERAL = 10  # Postfix listeners in the mixed run


def unique_ports(n, taken=()):
    """n free loopback ports, no two alike (free_port alone may hand out the same one twice)."""
    ports = []
    while len(ports) < n:
        p = harness.free_port()
        if p not in ports and p not in taken:
            ports.append(p)
    return ports


def run_bounded(cmd, limit, **kwargs):
    """Runs cmd to its end, killed after `limit` seconds. Not subprocess.run(timeout=...): with a
    timeout, Popen.wait polls with growing sleeps (up to 50 ms), so a 46 ms run measured 64 ms."""
    p = subprocess.Popen(cmd, **kwargs)
    killer = threading.Timer(limit, p.kill)
    killer.start()
    try:
        out, _ = p.communicate()  # without a timeout: one blocking wait
    finally:
        killer.cancel()
    return p.returncode, out


def timed(cmd, runs):
    times = []
    for _ in range(runs):
        start = time.monotonic()
        returncode, _ = run_bounded(cmd, 1800, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        times.append(time.monotonic() - start)
        if returncode not in (0, 1):
            raise RuntimeError(f"{cmd[0]} exited with {returncode}")
    return statistics.median(times)


def machine_cpu_seconds():
    """CPU time (user, nice, system, irq, softirq) all cores spent since boot, from /proc/stat."""
    with open("/proc/stat") as f:
        fields = [int(v) for v in f.readline().split()[1:]]
    return (fields[0] + fields[1] + fields[2] + fields[5] + fields[6]) / os.sysconf("SC_CLK_TCK")


def children_cpu_seconds():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def process_cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def many_targets(list_file, sluice_pid):
    """One `sluice probe --file` run: wall time, and CPU split into the probe, sluice serve and
    the rest of the machine (Postfix)."""
    start = time.monotonic()
    machine_before, probe_before = machine_cpu_seconds(), children_cpu_seconds()
    sluice_before = process_cpu_seconds(sluice_pid)
    _, out = run_bounded([os.environ["SLUICE_BIN"], "probe", "--json", "--parallel", "64", "--file", list_file], 600,
                         stdout=subprocess.PIPE, text=True)
    wall = time.monotonic() - start
    probe = children_cpu_seconds() - probe_before
    sluice = process_cpu_seconds(sluice_pid) - sluice_before
    other = machine_cpu_seconds() - machine_before - probe - sluice
    report = json.loads(out)
    return {"wall": wall, "probe": probe, "sluice": sluice, "other": other,
            "assessed": sum(1 for t in report["targets"] if not t["error"]),
            "connections": sum(t["connections"] for t in report["targets"]),
            "postfix_connections": sum(t["connections"] for t in report["targets"] if "Postfix" in str(t["smtp"]["banner"]))}


def main():
    ports = unique_ports(LISTENERS)
    # Each connector also listens on 127.0.0.2: 200 more targets whose servers all cost little.
    connectors = [{"name": f"C{i}", "listen": [f"127.0.0.1:{p}", f"127.0.0.2:{p}"],
                   **({"tls": {"profile": "legacy"}} if i % 2 else {})} for i, p in enumerate(ports)]
    sluice = harness.Sluice(connectors, limits="max_connections_per_ip = 5000").start()
    cert, key = make_certificate(subject="/CN=pf.bench")
    pf = PostfixPeer({"smtpd_tls_security_level": "may", "smtpd_tls_cert_file": cert, "smtpd_tls_key_file": key,
                      "smtpd_tls_protocols": ">=TLSv1", "smtpd_tls_mandatory_protocols": ">=TLSv1",
                      "default_process_limit": "400", "smtpd_client_connection_count_limit": "0",
                      "smtpd_client_connection_rate_limit": "0", "smtpd_peername_lookup": "no"})
    pf_ports = unique_ports(LISTENERS - 1, taken=set(ports) | {pf.port})
    for p in pf_ports:
        pf._postconf("-M", f"127.0.0.1:{p}/inet = 127.0.0.1:{p} inet n - n - - smtpd")
    pf.start()
    pf_ports.insert(0, pf.port)
    try:
        rows = []
        for name, port in [("sluice serve (TLS 1.2+)", ports[0]), ("Postfix (TLS 1.0-1.3)", pf.port)]:
            target = f"127.0.0.1:{port}"
            ours = timed([os.environ["SLUICE_BIN"], "probe", "--json", target], 5)
            theirs = timed([SSLSCAN, "--starttls-smtp", "--xml=-", target], 1 if QUICK else 3)
            if QUICK:
                slow = float("nan")
            else:
                out = tempfile.mkdtemp(prefix="testssl-bench-")
                slow = timed([TESTSSL, "--quiet", "--nodns", "none", "--warnings", "off", "--starttls", "smtp",
                              "-p", "-E", "-S", "--jsonfile", os.path.join(out, "t.json"), target], 1)
                shutil.rmtree(out, ignore_errors=True)
            rows.append((name, ours, theirs, slow))
        targets = [f"127.0.0.1:{p}" for p in ports + pf_ports]
        list_file = os.path.join(sluice.dir, "targets.txt")
        with open(list_file, "w") as f:
            f.write("\n".join(targets) + "\n")
        # Twice: first with every server cold (each of Postfix's 100 listeners is its own service
        # and forks its smtpd processes as the connections come), then warm, as servers in
        # production are.
        runs = [many_targets(list_file, sluice.proc.pid) for _ in range(2)]
        connections = runs[1]["connections"]
        sluice_only = os.path.join(sluice.dir, "sluice-targets.txt")
        with open(sluice_only, "w") as f:
            f.write("\n".join(f"127.0.0.{a}:{p}" for a in (1, 2) for p in ports) + "\n")
        runs.append(many_targets(sluice_only, sluice.proc.pid))
        # The wording, "several sluice and Postfix listeners": 10 Postfix listeners (warm)
        # among 190 sluice targets.
        mixed = os.path.join(sluice.dir, "mixed-targets.txt")
        with open(mixed, "w") as f:
            f.write("\n".join([f"127.0.0.1:{p}" for p in pf_ports[:SEVERAL]]
                              + [f"127.0.0.{a}:{p}" for a in (1, 2) for p in ports[:(200 - SEVERAL) // 2]]) + "\n")
        runs.append(many_targets(mixed, sluice.proc.pid))

        print(f"\n{'full assessment of one target (s)':<36}{'sluice probe':>14}{'sslscan':>10}{'testssl.sh':>12}"
              f"{'x sslscan':>11}{'x testssl':>11}")
        for name, ours, theirs, slow in rows:
            print(f"{name:<36}{ours:>14.3f}{theirs:>10.3f}{slow:>12.1f}{theirs / ours:>11.1f}{slow / ours:>11.1f}")
        print(f"\nsluice probe, {len(targets)} targets ({LISTENERS} sluice connectors, {LISTENERS} Postfix listeners),"
              f" {connections} connections:")
        print(f"{'servers':<8}{'wall s':>8}{'assessed':>10}{'targets/s':>11}{'CPU s: probe':>14}{'sluice serve':>14}"
              f"{'Postfix':>9}{'floor s':>9}")
        for name, r in zip(("cold", "warm", "sluice*", "mixed*"), runs):
            # Where the time goes: the servers' handshakes (Postfix signs with RSA and makes a DH
            # key for most) share the cores with the probe; "floor" is all CPU over all cores.
            floor = (r["probe"] + r["sluice"] + r["other"]) / os.cpu_count()
            print(f"{name:<8}{r['wall']:>8.2f}{r['assessed']:>10}{len(targets) / r['wall']:>11.1f}{r['probe']:>14.1f}"
                  f"{r['sluice']:>14.1f}{r['other']:>9.1f}{floor:>9.1f}")
        print(f"sluice*: 200 other targets, the 100 sluice connectors on 127.0.0.1 and 127.0.0.2 (no Postfix),"
              f" {runs[2]['connections']} connections")
        print(f"mixed*: {SEVERAL} of the Postfix listeners (warm) and {200 - SEVERAL} sluice targets,"
              f" {runs[3]['connections']} connections")
        print(f"Postfix CPU per connection (warm): "
              f"{1000 * runs[1]['other'] / max(1, runs[1]['postfix_connections']):.2f} ms")
    finally:
        sluice.stop()
        pf.cleanup()


if __name__ == "__main__":
    main()
