"""Promise 1 of docs/security.md: nothing acknowledged is lost.

One `sluice serve` delivers locally (local_domains) and relays to a loopback sink (a send
connector with a smart host). Client threads drive it with many concurrent STARTTLS sessions; every
message carries a unique id and a checksum of its body. The test kills the gateway with SIGKILL at
least KILLS times, some at random moments and some aimed at a window (sessions in DATA, a message
whose final dot was sent and whose reply has not come yet, i.e. the spool write; the sink in the
middle of a delivery; just after a 250, when local delivery runs; during startup and recovery),
and restarts it on the same state directory each time. After the queue has drained:

- every message whose 250 the client received is delivered to each of its recipients (Maildir or
  sink), with its body intact (length and SHA-256);
- nothing is delivered that the client was not told was accepted, except messages whose final
  reply was lost to a kill (the dot was sent, no reply came): those are "unknown", either is fine;
- a message is delivered more than once only in the windows docs/queue.md and docs/outbound.md
  describe: a local copy again only by another process (the Maildir file name carries the pid),
  a relayed copy again only if a kill came after the first copy was received, or the sink's 250
  may not have reached sluice (the connection ended before sluice sent another command).

The counts (sent, acknowledged, unknown, delivered, duplicates, lost) are printed.

SLUICE_CRASH_BREAK=drop makes the sink acknowledge every fifth message and throw it away (a next
hop that loses mail): the test must then fail with lost messages. It exists to show that the test
can fail; never set it in `make test`."""
import collections
import glob
import hashlib
import os
import random
import re
import signal
import smtplib
import socket
import subprocess
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402

# Keeps a core busy: ctest counts each of its cases as two slots (tests/e2e/ctest_cases.py).
CTEST_PROCESSORS = 2

KILLS = int(os.environ.get("SLUICE_CRASH_KILLS", "24"))
# A delivery is recorded in the spool (envelope rewritten or removed) this soon after it happened,
# at the latest, even under this test's load; a kill later than that must not bring it back.
MAX_EXPOSURE = 10.0
CLIENT_THREADS = 8
LOCAL_DOMAIN = "sluice.test"
REMOTE_DOMAIN = "remote.test"
QUEUED = re.compile(rb"^250 2\.6\.0 ([0-9A-F]{16}) Queued mail for delivery")


class SmtpSink:
    """A plaintext SMTP server on loopback that records every message it answers 250 to.

    Each record: the recipients, the un-dot-stuffed data, when the final dot was read, and whether
    the client sent another command after the 250 (`confirmed`): only then did it certainly read
    the 250. `drop_every=n` acknowledges every n-th message and forgets it (a broken next hop).
    `reset_data=n` resets the connection (RST) in the middle of the first n messages' data.
    While `refuse` is true it answers every connection with a 421 banner and closes it (a next
    hop that is down); `refused` counts those connections."""

    def __init__(self, drop_every=0, reset_data=0):
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(128)
        self.port = self.sock.getsockname()[1]
        self.lock = threading.Lock()
        self.messages = []
        self.in_data = 0  # transactions between 354 and the final dot right now
        self.connections = 0
        self.resets = 0
        self.drop_every = drop_every
        self.reset_data = reset_data
        self.dropped = 0
        self.refuse = False
        self.refused = 0
        self._count = 0
        self._stop = False

    def start(self):
        threading.Thread(target=self._accept, daemon=True).start()
        return self

    def stop(self):
        self._stop = True
        self.sock.close()

    def _accept(self):
        while not self._stop:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn):
        with self.lock:
            self.connections += 1
            refuse = self.refuse
            if refuse:
                self.refused += 1
        last = None
        try:
            if refuse:
                conn.sendall(b"421 4.3.2 sink.remote.test Service not available\r\n")
                return
            f = conn.makefile("rb")
            conn.sendall(b"220 sink.remote.test ESMTP\r\n")
            rcpts = []
            while True:
                line = f.readline()
                if not line:
                    return
                if last is not None:
                    last["confirmed"] = True
                    last = None
                verb = line[:4].upper()
                if verb in (b"EHLO", b"HELO"):
                    conn.sendall(b"250-sink.remote.test\r\n250-8BITMIME\r\n250-SIZE 100000000\r\n"
                                 b"250 ENHANCEDSTATUSCODES\r\n")
                elif verb == b"MAIL":
                    rcpts = []
                    conn.sendall(b"250 2.1.0 OK\r\n")
                elif verb == b"RCPT":
                    m = re.match(rb"RCPT TO:<([^>]*)>", line, re.I)
                    rcpts.append(m.group(1).decode() if m else "?")
                    conn.sendall(b"250 2.1.5 OK\r\n")
                elif verb == b"DATA":
                    conn.sendall(b"354 go ahead\r\n")
                    with self.lock:
                        self.in_data += 1
                        self._count += 1
                        number = self._count
                    try:
                        data = self._read_data(f, conn, number)
                    finally:
                        with self.lock:
                            self.in_data -= 1
                    if data is None:
                        return
                    record = {"rcpts": rcpts, "data": data, "time": time.time(), "confirmed": False,
                              "connection": conn.getpeername()}
                    with self.lock:
                        if self.drop_every and number % self.drop_every == 0:
                            self.dropped += 1
                        else:
                            self.messages.append(record)
                            last = record
                    conn.sendall(b"250 2.0.0 Ok: queued\r\n")
                elif verb == b"QUIT":
                    conn.sendall(b"221 2.0.0 Bye\r\n")
                    return
                elif verb == b"RSET" or verb == b"NOOP":
                    conn.sendall(b"250 2.0.0 OK\r\n")
                else:
                    conn.sendall(b"502 5.5.2 not here\r\n")
        except OSError:
            return
        finally:
            conn.close()

    def _read_data(self, f, conn, number):
        """The message up to CRLF.CRLF, transparency dots removed; None when the peer went away or
        this transaction is one to reset."""
        lines = []
        while True:
            line = f.readline()
            if not line:
                return None
            if line == b".\r\n":
                return b"".join(lines)
            if self.reset_data and number <= self.reset_data and len(lines) >= 3:
                with self.lock:
                    self.resets += 1
                # SO_LINGER 0: close() sends RST, the abrupt end of a crashed or hostile server.
                conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
                conn.close()
                return None
            lines.append(line[1:] if line.startswith(b".") else line)

    def snapshot(self):
        with self.lock:
            return list(self.messages)


def make_message(test_id, recipients, size):
    """A message with a unique id, and the length and SHA-256 of its body in its header."""
    lines = []
    total = 0
    while total < size:
        line = os.urandom(38).hex().encode()  # 76 characters, never a leading dot
        lines.append(line)
        total += len(line) + 2
    body = b"\r\n".join(lines) + b"\r\n"
    head = (f"From: <client@example.org>\r\nTo: {', '.join('<' + r + '>' for r in recipients)}\r\n"
            f"Subject: crash test {test_id}\r\nX-Test-Id: {test_id}\r\nX-Test-Length: {len(body)}\r\n"
            f"X-Test-Sha256: {hashlib.sha256(body).hexdigest()}\r\n\r\n").encode()
    return head + body


def parse_copy(data):
    """(test id, intact) of a delivered copy; intact when the body has its length and checksum."""
    head, sep, body = data.partition(b"\r\n\r\n")
    fields = dict(re.findall(rb"^(X-Test-[A-Za-z0-9]+): (\S+)\r?$", head, re.M))
    test_id = fields.get(b"X-Test-Id", b"?").decode()
    intact = (bool(sep) and fields.get(b"X-Test-Length") == str(len(body)).encode()
              and fields.get(b"X-Test-Sha256") == hashlib.sha256(body).hexdigest().encode())
    return test_id, intact


class Outcome:
    """What one client saw for one message."""
    NOT_ACCEPTED = "not accepted"  # the dot was never sent, or a 4xx/5xx reply to it
    UNKNOWN = "unknown"            # the dot was sent and no reply came: the kill took it
    ACKED = "acknowledged"


class Clients:
    """CLIENT_THREADS threads that send messages over STARTTLS sessions until stopped, and keep
    what they saw. `phase[thread]` tells where each session is, for aiming the kills."""

    def __init__(self, port):
        self.port = port
        self.stop_event = threading.Event()
        self.lock = threading.Lock()
        self.outcomes = {}       # test id -> (Outcome, recipients)
        self.acked_at = {}       # test id -> time of its 250
        self.phase = {}          # thread -> "idle" | "data" | "dot" (the dot sent, reply awaited)
        self.errors = collections.Counter()
        self.tls_sessions = 0
        self.threads = [threading.Thread(target=self._run, args=(n,), daemon=True) for n in range(CLIENT_THREADS)]

    def start(self):
        for t in self.threads:
            t.start()
        return self

    def stop(self):
        self.stop_event.set()
        for t in self.threads:
            t.join(60)

    def phases(self):
        with self.lock:
            return collections.Counter(self.phase.values())

    def _set(self, n, phase):
        with self.lock:
            self.phase[n] = phase

    def _record(self, test_id, outcome, recipients):
        with self.lock:
            self.outcomes[test_id] = (outcome, recipients)
            if outcome == Outcome.ACKED:
                self.acked_at[test_id] = time.time()

    def _run(self, n):
        rng = random.Random(n)
        seq = 0
        ctx = harness.tls_client_context()
        while not self.stop_event.is_set():
            try:
                s = smtplib.SMTP("127.0.0.1", self.port, timeout=20)
            except OSError:
                time.sleep(0.05)  # the gateway is down: try again soon
                continue
            try:
                s.ehlo("client.example.org")
                s.starttls(context=ctx)
                s.ehlo("client.example.org")
                with self.lock:
                    self.tls_sessions += 1
                for _ in range(rng.randint(1, 3)):
                    if self.stop_event.is_set():
                        break
                    seq += 1
                    self._one_message(s, n, f"t{n}-{seq}", rng)
                s.quit()
            except (OSError, smtplib.SMTPException) as e:
                with self.lock:
                    self.errors[type(e).__name__] += 1
            finally:
                self._set(n, "idle")
                s.close()

    def _one_message(self, s, n, test_id, rng):
        kind = rng.choice(("local", "remote", "both"))
        recipients = {"local": [f"u{n}@{LOCAL_DOMAIN}"], "remote": [f"r{n}@{REMOTE_DOMAIN}"],
                      "both": [f"u{n}@{LOCAL_DOMAIN}", f"r{n}@{REMOTE_DOMAIN}"]}[kind]
        # Large-ish and of varied size: the DATA and spool-write windows are wide enough to hit.
        message = make_message(test_id, recipients, rng.choice((2_000, 30_000, 150_000, 400_000)))
        # Until the dot is sent, nothing may be delivered; a failure here is "not accepted".
        self._record(test_id, Outcome.NOT_ACCEPTED, recipients)
        code, _ = s.mail("client@example.org")
        if code != 250:
            return
        for r in recipients:
            code, _ = s.rcpt(r)
            if code != 250:
                s.rset()
                return
        s.putcmd("data")
        code, _ = s.getreply()
        if code != 354:
            return
        self._set(n, "data")
        wire = message + b".\r\n"
        chunk = 64 * 1024
        for i in range(0, len(wire), chunk):
            s.sock.sendall(wire[i:i + chunk])
            if i + chunk < len(wire):
                time.sleep(rng.uniform(0, 0.01))
        self._set(n, "dot")
        self._record(test_id, Outcome.UNKNOWN, recipients)
        code, text = s.getreply()
        self._set(n, "idle")
        if code == 250:
            if not QUEUED.match(b"250 " + text):
                raise AssertionError(f"unexpected 250 text {text!r}")
            self._record(test_id, Outcome.ACKED, recipients)
        else:
            self._record(test_id, Outcome.NOT_ACCEPTED, recipients)


class CrashConsistency(unittest.TestCase):
    CTEST_SECONDS = 40  # its rough duration: ctest starts the longest first

    def test_sigkill_loses_nothing_acknowledged(self):
        began = time.time()
        sink = SmtpSink(drop_every=5 if os.environ.get("SLUICE_CRASH_BREAK") == "drop" else 0).start()
        sluice = harness.Sluice(local_domains=(LOCAL_DOMAIN,), extra='relay_from = ["127.0.0.1"]')
        harness.append_config(sluice, harness.queue_table(hop_backoff_max="2s") +
                              harness.smart_host_connector("Sink", [REMOTE_DOMAIN], sink.port))
        self.addCleanup(sink.stop)
        # Whatever fails below, no gateway is left running.
        self.addCleanup(lambda: sluice.proc and sluice.proc.poll() is None and (sluice.proc.kill(), sluice.proc.wait()))
        logs = []
        kill_times = []
        pids = []
        hits = collections.Counter()

        def start():
            sluice.start()
            pids.append(sluice.proc.pid)

        def kill(kind):
            phases, sink_busy = clients.phases(), sink.in_data
            queued = len(harness.queued_envelopes(sluice))
            killing = time.time()
            sluice.proc.send_signal(signal.SIGKILL)
            sluice.proc.wait()
            # From the decision to the certain death: a copy the sink reads in between may still
            # have been confirmed by the dying process (the GIL can delay the signal by ms).
            kill_times.append((killing, time.time()))
            sluice.stderr.close()
            logs.append(sluice.server_log())
            hits[kind] += 1
            hits["with sessions in DATA"] += phases["data"] > 0
            hits["after a final dot, reply pending (spool write)"] += phases["dot"] > 0
            hits["with the sink receiving a delivery"] += sink_busy > 0
            hits["with messages in the spool"] += queued > 0

        def wait_for(predicate, timeout):
            deadline = time.time() + timeout
            while time.time() < deadline:
                if predicate():
                    return True
                time.sleep(0.002)
            return False

        start()
        clients = Clients(sluice.port).start()
        seed = int(os.environ.get("SLUICE_CRASH_SEED", str(int(began))))
        rng = random.Random(seed)
        print(f"kill timing seed {seed} (SLUICE_CRASH_SEED repeats it)", flush=True)
        try:
            time.sleep(1.0)  # let the first sessions get going
            kinds = ["random", "data", "dot", "delivery", "after-ack", "random", "startup"]
            for k in range(KILLS):
                kind = "long" if k == KILLS // 2 else kinds[k % len(kinds)]
                if kind == "random":
                    time.sleep(rng.uniform(0.5, 3.0))
                elif kind == "long":
                    # Long enough that every write decided early in it is on disk by the kill: a
                    # copy delivered then must not come again (see MAX_EXPOSURE).
                    time.sleep(MAX_EXPOSURE + 2)
                elif kind == "data":
                    wait_for(lambda: clients.phases()["data"] > 0, 3)
                    time.sleep(rng.uniform(0, 0.02))
                elif kind == "dot":
                    wait_for(lambda: clients.phases()["dot"] > 0, 3)
                    time.sleep(rng.uniform(0, 0.005))
                elif kind == "delivery":
                    wait_for(lambda: sink.in_data > 0, 3)
                    time.sleep(rng.uniform(0, 0.005))
                elif kind == "after-ack":
                    seen = len(clients.acked_at)
                    wait_for(lambda: len(clients.acked_at) > seen, 3)
                    time.sleep(rng.uniform(0, 0.01))
                elif kind == "startup":
                    # Killed while starting: recovery of the spool, reloading, first deliveries.
                    kill("startup (previous run)")
                    sluice.stderr = open(sluice.stderr_path, "w")
                    sluice.proc = subprocess.Popen([harness.SLUICE, "serve", "--config", sluice.config],
                                                   stdout=subprocess.DEVNULL, stderr=sluice.stderr)
                    pids.append(sluice.proc.pid)
                    time.sleep(rng.uniform(0.005, 0.15))
                kill(kind)
                time.sleep(rng.uniform(0, 0.2))
                start()
            time.sleep(1.0)
        finally:
            clients.stop()
        load_end = time.time()

        # Drain: the queue must empty by itself (retry_min 1 s, the sink always answers).
        deadline = time.time() + 60
        while harness.queued_envelopes(sluice) and time.time() < deadline:
            time.sleep(0.2)
        left = harness.spool_files(sluice)
        status = sluice.stop()
        logs.append(sluice.server_log())
        self.assertEqual(status, 0, logs[-1])
        self.assertEqual(left, [], "the queue did not drain in 60 s:\n" + logs[-1][-3000:])

        # Every delivered copy: (test id, recipient) -> copies with where they came from.
        copies = collections.defaultdict(list)
        corrupt = []
        for path in harness.delivered_files(sluice):
            with open(path, "rb") as f:
                data = f.read()
            m = re.match(rb"Delivered-To: (\S+)\r\n", data)
            self.assertTrue(m, path)
            test_id, intact = parse_copy(data[m.end():])
            stamp = re.match(r"(\d+)\.M(\d+)P(\d+)Q", os.path.basename(path))
            copies[(test_id, m.group(1).decode())].append({
                "kind": "local", "pid": int(stamp.group(3)), "confirmed": True, "intact": intact, "where": path,
                "time": int(stamp.group(1)) + int(stamp.group(2)) / 1e6})
        for record in sink.snapshot():
            test_id, intact = parse_copy(record["data"])
            for r in record["rcpts"]:
                copies[(test_id, r)].append({"kind": "sink", "time": record["time"], "confirmed": record["confirmed"],
                                             "intact": intact, "where": "sink"})
        leftovers_tmp = glob.glob(os.path.join(sluice.state, "maildir", "*", "tmp", "*"))

        outcomes = dict(clients.outcomes)
        counts = collections.Counter(o for o, _ in outcomes.values())
        lost, unexpected, bad_duplicates = [], [], []
        duplicates = unknown_delivered = 0
        exposures = []
        for test_id, (outcome, recipients) in outcomes.items():
            delivered_to = [r for r in recipients if copies.get((test_id, r))]
            if outcome == Outcome.ACKED:
                lost += [(test_id, r) for r in recipients if r not in delivered_to]
            elif outcome == Outcome.NOT_ACCEPTED and delivered_to:
                unexpected.append((test_id, delivered_to))
            elif outcome == Outcome.UNKNOWN and delivered_to:
                unknown_delivered += 1
        for key, found in copies.items():
            corrupt += [(key, c["where"]) for c in found if not c["intact"]]
            if key[0] not in outcomes:
                unexpected.append((key, "a message no client sent"))
            elif key[1] not in outcomes[key[0]][1]:
                unexpected.append((key, "a recipient the message did not have"))
            if len(found) < 2:
                continue
            duplicates += len(found) - 1
            # Each later copy needs a kill after the copy before it (the spool entry was not updated
            # in time), or a relayed copy whose 250 sluice may not have read. `exposure`: how long
            # after its delivery the first copy was still undone in the spool when the kill came.
            found.sort(key=lambda c: c["time"])
            for first, second in zip(found, found[1:]):
                kills_between = [(a, b) for a, b in kill_times if first["time"] <= b and a <= second["time"]]
                if kills_between:
                    exposures.append(max(0.0, kills_between[0][0] - first["time"]))
                if first["kind"] == second["kind"] == "local" and first["pid"] == second["pid"]:
                    bad_duplicates.append((key, "two local copies from one process", first["where"], second["where"]))
                elif not kills_between and first["confirmed"]:
                    bad_duplicates.append((key, f"delivered again ({first['kind']}, {second['kind']}) with no kill "
                                           f"in between", round(first["time"] - began, 3),
                                           round(second["time"] - began, 3), first.get("connection"),
                                           second.get("connection"),
                                           [round(a - began, 3) for a, _ in kill_times if abs(a - first["time"]) < 5]))

        delivered = sum(len(v) for v in copies.values())
        print(f"\ncrash consistency: {len(kill_times)} SIGKILLs over {load_end - began:.0f} s, "
              f"{clients.tls_sessions} TLS sessions, {len(pids)} gateway processes", flush=True)
        for what, n in sorted(hits.items()):
            print(f"  kills {what}: {n}")
        print(f"  sent {len(outcomes)} messages ({sum(len(r) for _, r in outcomes.values())} recipients): "
              f"acknowledged {counts[Outcome.ACKED]}, unknown {counts[Outcome.UNKNOWN]} "
              f"({unknown_delivered} of them delivered), not accepted {counts[Outcome.NOT_ACCEPTED]}")
        by_kind = collections.Counter(c["kind"] for v in copies.values() for c in v)
        print(f"  delivered copies {delivered} (Maildir {by_kind['local']}, sink {by_kind['sink']}), "
              f"duplicates {duplicates}, "
              f"lost {len(lost)}, corrupt {len(corrupt)}, delivered without acknowledgement {len(unexpected)}, "
              f"duplicates outside the window {len(bad_duplicates)}")
        if exposures:
            exposures.sort()
            print(f"  duplicate window (first copy delivered -> the kill that undid it): median "
                  f"{exposures[len(exposures) // 2] * 1000:.0f} ms, max {exposures[-1] * 1000:.0f} ms")
        print(f"  Maildir tmp/ leftovers of killed deliveries: {len(leftovers_tmp)}; "
              f"sink dropped on purpose: {sink.dropped}; client errors: {dict(clients.errors)}", flush=True)

        self.assertGreaterEqual(len(kill_times), 20)
        self.assertGreaterEqual(hits["with sessions in DATA"], 3, hits)
        self.assertGreaterEqual(hits["after a final dot, reply pending (spool write)"], 1, hits)
        self.assertGreaterEqual(hits["with the sink receiving a delivery"], 1, hits)
        self.assertGreaterEqual(counts[Outcome.ACKED], 50, "too little traffic to prove anything")
        self.assertEqual(lost, [], "acknowledged and never delivered")
        self.assertEqual(corrupt, [], "delivered copies that are truncated or altered")
        self.assertEqual(unexpected, [], "delivered but never acknowledged")
        self.assertEqual(bad_duplicates, [], "duplicates outside the documented window")
        self.assertLess(max(exposures, default=0), MAX_EXPOSURE,
                        "a delivery was still not recorded in the spool this long after it happened")
        self.assertLess(time.time() - began, 170)


if __name__ == "__main__":
    unittest.main(verbosity=2)
