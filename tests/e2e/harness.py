"""Shared pieces for end-to-end tests: start the real `sluice serve` on loopback, find its logs and
delivered mail, and talk to it with real clients. Each test module is one ctest case."""
import atexit
import glob
import shutil
import os
import random
import re
import select
import signal
import smtplib
import socket
import subprocess
import tempfile
import textwrap
import time

SLUICE = os.environ.get("SLUICE_BIN", os.path.join(os.path.dirname(__file__), "../../build/sluice"))
SOURCE_DIR = os.environ.get("SLUICE_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "../.."))


_made_dirs = []


@atexit.register
def _remove_made_dirs():
    """Test folders go when the test process ends; SLUICE_KEEP_TEST_DIRS=1 keeps them for a look."""
    if os.environ.get("SLUICE_KEEP_TEST_DIRS") != "1":
        for d in _made_dirs:
            shutil.rmtree(d, ignore_errors=True)


def wait_until(predicate, timeout=10, interval=0.05):
    """Polls `predicate` every `interval` seconds; its first truthy value (what was waited for:
    a match, a row), or None when `timeout` seconds pass first."""
    deadline = time.time() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.time() > deadline:
            return None
        time.sleep(interval)


def wait_for(what, predicate, timeout=30, interval=0.1):
    """wait_until that fails the test instead: AssertionError "timed out waiting for <what>"."""
    value = wait_until(predicate, timeout, interval)
    if not value:
        raise AssertionError(f"timed out waiting for {what}")
    return value


def listening(port, host="127.0.0.1"):
    """True when something accepts TCP connections on `host`:`port`."""
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


_handed_out = set()
_random = random.SystemRandom()


def _ephemeral_low():
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def free_port():
    """An unprivileged loopback port nobody uses right now, below the kernel's ephemeral range.

    A port from bind(0) lies inside that range, where the outgoing connections of a concurrent test
    (a TLS scan makes thousands, each leaving a TIME_WAIT port for a minute) may take it before the
    server meant for it binds: a private Postfix then dies with only "mail system startup failed"
    (seen in CI). Below the range only another free_port() can collide; this process never hands
    out a port twice, and the bind test skips ports another process holds."""
    low = _ephemeral_low()
    if low > 11000:
        for _ in range(500):
            port = _random.randrange(10000, low)
            if port in _handed_out:
                continue
            try:
                with socket.socket() as s:
                    s.bind(("127.0.0.1", port))
            except OSError:
                continue
            _handed_out.add(port)
            return port
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Sluice:
    """A running `sluice serve` with its own state directory and configuration.

    `connectors` is a list of dicts, each turned into a [[receive_connector]] table; a connector
    without "listen" gets a fresh port. `port_of(name)` tells the port chosen."""

    def __init__(self, connectors=None, extra="", hostname="mx.sluice.test",
                 local_domains=("localhost", "sluice.test"), limits=""):
        self.dir = tempfile.mkdtemp(prefix="sluice-e2e-")
        _made_dirs.append(self.dir)
        os.chmod(self.dir, 0o755)
        self.state = os.path.join(self.dir, "state")
        self.ports = {}
        lines = [f'state_dir = "{self.state}"', f'hostname = "{hostname}"',
                 "local_domains = [" + ", ".join(f'"{d}"' for d in local_domains) + "]", extra, ""]
        if "dns_servers" not in extra:
            # Tests never query DNS off this machine: by default a loopback port where nothing
            # answers, so any MX lookup is a quick temporary failure.
            lines.insert(3, f'dns_servers = ["127.0.0.1:{free_port()}"]')
        if os.geteuid() == 0 and not re.search(r"^user\s*=", extra, re.M):
            # Tests run as root keep root (a warning at start); test_least_privilege drops.
            lines.insert(3, 'user = "root"')
        if limits:
            lines += ["[limits]", textwrap.dedent(limits), ""]
        for c in connectors or [{"name": "Default"}]:
            c = dict(c)
            tls = c.pop("tls", None)
            if "listen" not in c:
                port = free_port()
                c["listen"] = [f"127.0.0.1:{port}"]
            self.ports[c["name"]] = int(c["listen"][0].rsplit(":", 1)[1])
            lines.append("[[receive_connector]]")
            for k, v in c.items():
                lines.append(f"{k} = {toml_value(v)}")
            if tls:
                lines.append("[receive_connector.tls]")
                for k, v in tls.items():
                    lines.append(f"{k} = {toml_value(v)}")
            lines.append("")
        self.config = os.path.join(self.dir, "sluice.toml")
        with open(self.config, "w") as f:
            f.write("\n".join(lines))
        self.proc = None
        self.stderr_path = os.path.join(self.dir, "serve.log")

    def port_of(self, name="Default"):
        return self.ports[name]

    @property
    def port(self):
        return next(iter(self.ports.values()))

    def start(self, *args, preexec_fn=None):
        """Starts the gateway and waits until it listens and, when its spool holds messages, until
        it has read them (it serves while it reads: docs/queue.md, "Startup"). `preexec_fn` runs in
        the child before sluice (e.g. to set a resource limit)."""
        self.stderr = open(self.stderr_path, "w")
        self.proc = subprocess.Popen([SLUICE, "serve", "--config", self.config, *args],
                                     stdout=subprocess.DEVNULL, stderr=self.stderr, preexec_fn=preexec_fn)
        deadline = time.time() + 30
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"sluice exited with {self.proc.returncode}: {self.server_log()}")
            # serve logs "queue: reading N message(s)" before its "listening on" lines, when it has any.
            log = self.server_log()
            if all(self._listening(p) for p in self.ports.values()) and (
                    "queue: reading " not in log or "reloaded from the spool" in log):
                return self
            time.sleep(0.05)
        raise RuntimeError("sluice did not start listening: " + self.server_log())

    def _listening(self, port):
        return f"listening on 127.0.0.1:{port} " in self.server_log()

    def stop(self, timeout=30):
        """SIGTERM, then wait; returns the exit status."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise
        if getattr(self, "stderr", None) and not self.stderr.closed:
            self.stderr.close()
        return self.proc.returncode if self.proc else None

    def remove(self):
        """Deletes the server's folder (call after stop(), when the test no longer needs it)."""
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def server_log(self):
        with open(self.stderr_path) as f:
            return f.read()

    def protocol_log(self, wait_for=None, timeout=5):
        """All protocol log lines (header lines excluded). With `wait_for`, waits until a line
        containing that text is there."""
        deadline = time.time() + timeout
        while True:
            lines = []
            for path in sorted(glob.glob(os.path.join(self.state, "logs/ProtocolLog/SmtpReceive/RECV*.LOG"))):
                with open(path, encoding="utf-8") as f:
                    lines += [l.rstrip("\r\n") for l in f if not l.startswith("#")]
            if wait_for is None or any(wait_for in l for l in lines) or time.time() > deadline:
                return lines
            time.sleep(0.05)

    def protocol_log_files(self):
        return sorted(glob.glob(os.path.join(self.state, "logs/ProtocolLog/SmtpReceive/RECV*.LOG")))

    def maildir(self, mailbox, count=1, timeout=10):
        """Messages delivered to <state>/maildir/<mailbox>/new, waiting until `count` are there."""
        return files_when_there(os.path.join(self.state, "maildir", mailbox, "new", "*"), count, timeout)


def files_when_there(pattern, count, timeout, poll=0.05):
    """The contents of the files matching `pattern` (sorted by name), once there are `count` of
    them or `timeout` seconds have passed, whichever comes first."""
    deadline = time.time() + timeout
    while True:
        files = sorted(glob.glob(pattern))
        if len(files) >= count or time.time() > deadline:
            out = []
            for p in files:
                with open(p, "rb") as f:
                    out.append(f.read())
            return out
        time.sleep(poll)


def queue_table(**settings):
    """A [queue] table that retries after 1 to 2 s (tests wait for retries), then `settings`."""
    return toml_table("[queue]", {"retry_min": "1s", "retry_max": "2s", **settings})


def smart_host_connector(name, address_spaces, port, tls="none", policy=None, **settings):
    """A [[send_connector]] sending `address_spaces` to the smart host 127.0.0.1:`port`, then
    `settings` (None values left out), and its [send_connector.tls_policy] when `policy` is given."""
    out = toml_table("[[send_connector]]", {"name": name, "address_spaces": address_spaces,
                                            "smart_hosts": [f"[127.0.0.1]:{port}"], "tls": tls, **settings})
    if policy:
        out += toml_table("[send_connector.tls_policy]", policy)
    return out


def toml_table(header, values):
    return header + "\n" + "".join(f"{k} = {toml_value(v)}\n" for k, v in values.items() if v is not None)


def toml_value(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    if isinstance(v, dict):  # an inline table, keys quoted, in insertion order
        return "{ " + ", ".join(f"{toml_value(str(k))} = {toml_value(x)}" for k, x in v.items()) + " }"
    return '"' + str(v).replace("\\", "\\\\").replace('"', '\\"') + '"'


class Raw:
    """A raw SMTP conversation over a plain socket, for tests that must control every byte."""

    def __init__(self, port, host="127.0.0.1", timeout=10):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.buf = b""

    def send(self, data):
        self.sock.sendall(data if isinstance(data, bytes) else data.encode())

    def reply(self):
        """Reads one complete (possibly multi-line) reply; returns (code, text of all lines)."""
        lines = []
        while True:
            while b"\r\n" not in self.buf:
                chunk = self.sock.recv(65536)
                if not chunk:
                    raise ConnectionError("closed; partial: %r" % self.buf)
                self.buf += chunk
            line, self.buf = self.buf.split(b"\r\n", 1)
            lines.append(line.decode("utf-8", "replace"))
            if len(line) < 4 or line[3:4] != b"-":
                return int(line[:3]), "\n".join(lines)

    def cmd(self, line):
        self.send(line + "\r\n")
        return self.reply()

    def closed(self, timeout=5):
        """True when the server closes the connection within `timeout` without sending more."""
        self.sock.settimeout(timeout)
        try:
            return self.sock.recv(1) == b""
        except (ConnectionResetError, socket.timeout):
            return False

    def close(self):
        self.sock.close()


# ---- TLS clients and parsed protocol logs (added for test_tls_clients.py / test_starttls.py) ----

import collections
import csv
import re
import ssl

LOG_FIELDS = ("date_time", "connector", "session", "seq", "local", "remote", "event", "data", "context")
LogRecord = collections.namedtuple("LogRecord", LOG_FIELDS)


def _read_log_records(paths):
    """Protocol log lines of the given files, parsed with the csv module (RFC 4180 quoting), as
    LogRecord tuples in file order. A line without exactly nine fields raises ValueError."""
    records = []
    for path in paths:
        with open(path, encoding="utf-8", newline="") as f:
            for row in csv.reader(line for line in f if not line.startswith("#")):
                if len(row) != len(LOG_FIELDS):
                    raise ValueError(f"{path}: {len(row)} fields: {row!r}")
                records.append(LogRecord(*row))
    return records


def _by_session(records):
    """Records grouped by session id, sessions in order of first appearance."""
    out = {}
    for r in records:
        out.setdefault(r.session, []).append(r)
    return out


def protocol_log_records(sluice):
    """Every receive protocol log line of `sluice` (SmtpReceive/RECV*.LOG) as LogRecord tuples."""
    return _read_log_records(sluice.protocol_log_files())


def log_sessions(sluice):
    """Receive protocol log records grouped by session id, sessions in order of first appearance."""
    return _by_session(protocol_log_records(sluice))


def wait_for_session(sluice, client_port=None, exclude=(), timeout=5):
    """The records of one finished session (its `-` line is logged): the one whose remote
    endpoint is 127.0.0.1:`client_port`, or else the first session not in `exclude`.
    Raises AssertionError when no such session finishes within `timeout`."""
    deadline = time.time() + timeout
    while True:
        for sid, recs in log_sessions(sluice).items():
            if sid in exclude:
                continue
            if client_port is not None and recs[0].remote != f"127.0.0.1:{client_port}":
                continue
            if recs[-1].event == "-":
                return recs
        if time.time() > deadline:
            raise AssertionError(f"no finished session (client port {client_port}) in the protocol log:\n"
                                 + "\n".join(sluice.protocol_log()))
        time.sleep(0.05)


def pty_chunks(master, timeout=60):
    """What a program writes to its terminal, read from the pty's `master` end chunk by chunk
    until the program closes the terminal (EIO on Linux) or `timeout` seconds pass."""
    deadline = time.time() + timeout
    while True:
        ready, _, _ = select.select([master], [], [], max(0.0, deadline - time.time()))
        if not ready:
            return
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: the other end is closed
            return
        if not chunk:
            return
        yield chunk


def tls_client_context(minimum=None, maximum=None):
    """A client SSLContext that does not verify the server (sluice's certificate is self-signed)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    if minimum:
        ctx.minimum_version = minimum
    if maximum:
        ctx.maximum_version = maximum
    return ctx


SClient = collections.namedtuple("SClient", "returncode output handshake protocol cipher")


def run_s_client(port, *args, stdin=b"", timeout=15):
    """Runs `openssl s_client -brief -starttls smtp` against 127.0.0.1:`port` with extra `args`.
    `output` is its stderr, where -brief reports; `handshake` is True when it printed
    CONNECTION ESTABLISHED; `protocol` ("TLSv1.2") and `cipher` ("ECDHE-RSA-AES128-GCM-SHA256")
    are what it negotiated. (-brief prints them right after the handshake; without it a TLS 1.3
    session's details appear only if the session ticket arrives before s_client exits, and the
    "New, TLSv1.0, Cipher is" line gives the cipher's minimum version, not the protocol.)"""
    p = subprocess.run(["openssl", "s_client", "-brief", "-starttls", "smtp", "-connect", f"127.0.0.1:{port}",
                        *args], input=stdin, capture_output=True, timeout=timeout)
    out = p.stderr.decode("utf-8", "replace") + p.stdout.decode("utf-8", "replace")
    protocol = re.search(r"^Protocol version: (\S+)$", out, re.M)
    cipher = re.search(r"^Ciphersuite: (\S+)$", out, re.M)
    return SClient(p.returncode, out, "CONNECTION ESTABLISHED" in out,
                   protocol.group(1) if protocol else None, cipher.group(1) if cipher else None)


def run_swaks(port, *args, timeout=20):
    """Runs swaks against 127.0.0.1:`port`; returns the CompletedProcess with text output."""
    return subprocess.run(["swaks", "--server", "127.0.0.1", "--port", str(port), *args],
                          capture_output=True, text=True, timeout=timeout)


# ---- Source-bound raw clients and delivery checks (added for test_smtp_dialogue.py / test_limits.py /
# test_serve_lifecycle.py) ----


class RawFrom(Raw):
    """A Raw conversation whose socket is bound to `source` (e.g. "127.0.0.2") before connecting, so
    a test can appear as another loopback client: relay_from, remote_ranges and per-address limits
    all key on the client address."""

    def __init__(self, port, source, host="127.0.0.1", timeout=10):
        self.sock = socket.create_connection((host, port), timeout=timeout, source_address=(source, 0))
        self.buf = b""


def delivered_files(sluice):
    """Paths of every message delivered to any Maildir of `sluice` (all mailboxes' new/)."""
    return sorted(glob.glob(os.path.join(sluice.state, "maildir", "*", "new", "*")))


def queued_envelopes(sluice):
    """Paths of the envelope (.json) files in the spool of `sluice`."""
    return sorted(glob.glob(os.path.join(sluice.state, "queue", "*.json")))


def greeted(port):
    """A Raw conversation with 127.0.0.1:`port` past its banner and an EHLO (both must be 2xx)."""
    raw = Raw(port)
    code, text = raw.reply()
    assert code == 220, text
    code, text = raw.cmd("EHLO client.test")
    assert code == 250, text
    return raw


def replies_until_close(raw, timeout=15):
    """Every reply line the server sends until it closes the connection."""
    raw.sock.settimeout(timeout)
    data = raw.buf
    while True:
        try:
            chunk = raw.sock.recv(65536)
        except ConnectionResetError:
            break
        if not chunk:
            break
        data += chunk
    return [l.decode("utf-8", "replace") for l in data.split(b"\r\n") if l]


def spool_files(sluice):
    """Names of the files in the spool of `sluice`, without the recycled files of removed
    messages (".free.*", docs/queue.md), which are no mail."""
    return sorted(f for f in os.listdir(os.path.join(sluice.state, "queue")) if not f.startswith(".free."))


def session_records_from(sluice, remote, timeout=5):
    """The protocol log records of every finished session whose remote endpoint is `remote`
    ("127.0.0.2:40000"), waiting up to `timeout` for at least one; a list of record lists."""
    deadline = time.time() + timeout
    while True:
        found = [recs for recs in log_sessions(sluice).values()
                 if recs[0].remote == remote and recs[-1].event == "-"]
        if found or time.time() > deadline:
            return found
        time.sleep(0.05)


# ---- Spool files written by hand (added for test_queue_viewer.py) ----

import datetime
import json


def iso_utc(seconds_since_epoch):
    """A Unix time as the spool writes times: "2024-05-01T12:34:56Z" (whole seconds)."""
    return datetime.datetime.fromtimestamp(int(seconds_since_epoch), datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def spool_recipient(address, state="pending", attempts=0, last_reply="", next_attempt=None, last_attempt=None,
                    next_hop=""):
    """One recipients[] entry of an envelope file (docs/queue.md); times are Unix times or None."""
    return {"address": address, "state": state, "attempts": attempts, "last_reply": last_reply,
            "next_attempt": iso_utc(next_attempt) if next_attempt is not None else None,
            "next_hop": next_hop,
            "last_attempt": iso_utc(last_attempt) if last_attempt is not None else None}


def write_spooled_message(queue_dir, queue_id, recipients, received, mail_from="alice@example.org",
                          message=b"Subject: test\r\n\r\nHello\r\n", tls=("TLS1_3", "TLS_AES_256_GCM_SHA384"),
                          client=("192.0.2.1", "mx.example.org"), connector="Default"):
    """Writes <queue_dir>/<id>.eml and <id>.json exactly as Spool::store would (format 1), so a
    test can start from a queue in a known state. `recipients` are spool_recipient() dicts;
    `received` is a Unix time. Returns the envelope dict."""
    os.makedirs(queue_dir, mode=0o750, exist_ok=True)
    with open(os.path.join(queue_dir, queue_id + ".eml"), "wb") as f:
        f.write(message)
    envelope = {
        "format": 1, "id": queue_id, "mail_from": mail_from, "recipients": recipients,
        "body_type": "8BITMIME", "smtputf8": False, "size": len(message), "received": iso_utc(received),
        "client_address": client[0], "client_helo": client[1], "connector": connector,
        "tls_version": tls[0] if tls else "", "tls_cipher": tls[1] if tls else "",
        "delay_warning_sent": False,
    }
    with open(os.path.join(queue_dir, queue_id + ".json"), "w", encoding="utf-8") as f:
        json.dump(envelope, f, indent=2)
        f.write("\n")
    return envelope


# ---- Tables after the receive connectors, and the send protocol log (added for test_outbound_postfix.py) ----


def append_config(sluice, text):
    """Appends `text` verbatim to the configuration file of a not yet started `sluice`: for tables
    that must come after the [[receive_connector]] tables Sluice writes ([queue],
    [[send_connector]] with its [send_connector.tls_policy])."""
    with open(sluice.config, "a") as f:
        f.write("\n" + textwrap.dedent(text).strip("\n") + "\n")


def send_log_records(sluice):
    """Every send protocol log line of `sluice` (SmtpSend/SEND*.LOG) as LogRecord tuples."""
    return _read_log_records(sorted(glob.glob(os.path.join(sluice.state, "logs/ProtocolLog/SmtpSend/SEND*.LOG"))))


def send_log_sessions(sluice):
    """Send protocol log records grouped by session id (one per delivery attempt), in order."""
    return _by_session(send_log_records(sluice))


# ---- Ending a shared gateway (added for test_open_relay.py / test_internal_relay.py) ----


def stop_and_check(sluice):
    """Stops `sluice` (a class cleanup); an exit status other than 0 fails with its log."""
    status = sluice.stop()
    if status != 0:
        raise AssertionError(f"sluice exited with {status}: {sluice.server_log()}")


# ---- The message tracking log (docs/message-tracking.md) ----

TRACKING_FIELDS = ("date-time,client-ip,client-hostname,server-ip,server-hostname,source-context,connector-id,source,"
                   "event-id,internal-message-id,message-id,network-message-id,recipient-address,recipient-status,"
                   "total-bytes,recipient-count,related-recipient-address,reference,message-subject,sender-address,"
                   "return-path,message-info,directionality,tenant-id,original-client-ip,original-server-ip,custom-data,"
                   "transport-traffic-type,log-id,schema-version").split(",")


def tracking_files(sluice):
    """The paths of the message tracking log files of `sluice`, oldest first."""
    return sorted(glob.glob(os.path.join(sluice.state, "logs/MessageTracking/MSGTRK*.LOG")))


def tracking_records(sluice):
    """Every record of the gateway's tracking log, as dicts by field name (the csv module reads
    the quoting), after checking each file's header."""
    records = []
    for path in tracking_files(sluice):
        with open(path, encoding="utf-8", newline="") as f:
            text = f.read()
        lines = text.split("\r\n")
        assert lines[0] == "#Software: sluice", lines[0]
        assert lines[1].startswith("#Version: "), lines[1]
        assert lines[2] == "#Log-type: Message Tracking Log", lines[2]
        assert lines[3].startswith("#Date: "), lines[3]
        assert lines[4] == "#Fields: " + ",".join(TRACKING_FIELDS), lines[4]
        for row in csv.reader([l for l in lines[5:] if l]):
            assert len(row) == len(TRACKING_FIELDS), row
            records.append(dict(zip(TRACKING_FIELDS, row)))
    return records


# ---- The queue command, secret files and password hashes (shared by the queue and AUTH tests) ----


def queue_cli(sluice, *args, timeout=20):
    """`sluice queue <args> --state-dir <sluice's>`, its CompletedProcess (text output)."""
    return subprocess.run([SLUICE, "queue", *args, "--state-dir", sluice.state], capture_output=True, text=True,
                          timeout=timeout)


def queue_show(sluice, queue_id):
    """`sluice queue show <id> --json` of the running gateway, or None once the message is gone."""
    p = queue_cli(sluice, "show", queue_id, "--json")
    return json.loads(p.stdout) if p.returncode == 0 else None


def wait_deferred(sluice, queue_id, attempts=1, timeout=30):
    """The first recipient of `queue_id` (queue show's JSON) once it is deferred after `attempts`."""
    def deferred():
        m = queue_show(sluice, queue_id)
        r = m and m["recipients"][0]
        return r if r and r["state"] == "deferred" and r["attempts"] >= attempts else None
    return wait_for(f"{queue_id} deferred after {attempts} attempt(s)", deferred, timeout=timeout)


def wait_gone(sluice, queue_id, timeout=30):
    """Waits until `queue_id` has left the queue (delivered, or bounced)."""
    wait_for(f"{queue_id} to leave the queue", lambda: queue_show(sluice, queue_id) is None, timeout=timeout)


def send_sessions_naming(sluice, *needles):
    """The send protocol log's sessions (each one text: its records' fields joined by commas, one
    record a line) that contain any of `needles`."""
    out = []
    for recs in send_log_sessions(sluice).values():
        text = "\n".join(",".join(r) for r in recs)
        if any(n in text for n in needles):
            out.append(text)
    return out


def submit_message(port, sender, rcpt, subject="test"):
    """One message from `sender` to `rcpt` through the gateway on 127.0.0.1:`port`; its queue id."""
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as s:
        s.ehlo("submitter.test")
        s.mail(sender)
        code, text = s.rcpt(rcpt)
        assert code == 250, (code, text)
        code, text = s.data(f"From: {sender}\r\nTo: {rcpt}\r\nSubject: {subject}\r\n\r\nhello\r\n")
    assert code == 250, (code, text)
    return re.search(rb"([0-9A-F]{16})", text).group(1).decode()


def secret_file(directory, name, secret):
    """<directory>/<name> holding `secret` and a newline, mode 0600 (sluice refuses a secret file
    others may read); its path."""
    path = os.path.join(directory, name)
    with open(path, "w") as f:
        f.write(secret + "\n")
    os.chmod(path, 0o600)
    return path


def crypt_hash(password):
    """A SHA-512-crypt hash as `openssl passwd -6` makes it: a users file line written by hand."""
    return subprocess.run(["openssl", "passwd", "-6", "-stdin"], input=password, capture_output=True, text=True,
                          check=True, timeout=30).stdout.strip()


# ---- Process resources (added for test_abuse.py / test_memory_return.py / test_descriptor_limit.py) ----


def rss_kib(pid):
    """The resident memory (VmRSS) of process `pid`, in KiB."""
    with open(f"/proc/{pid}/status") as f:
        return int(re.search(r"^VmRSS:\s+(\d+) kB", f.read(), re.M).group(1))


# ---- systemd's notification socket (test_service_notify.py, test_deb_package.py) ----


class NotifySocket:
    """An AF_UNIX datagram socket, as systemd's /run/systemd/notify."""

    def __init__(self, open_to_all=False):
        """`open_to_all`: any user may send (a gateway that runs as another user than the test's)."""
        self.dir = tempfile.mkdtemp(prefix="sluice-notify-")
        self.path = os.path.join(self.dir, "notify")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        if open_to_all:
            os.chmod(self.dir, 0o755)
            os.chmod(self.path, 0o666)
        self.received = []

    def next(self, timeout=10):
        """The next datagram as text; AssertionError when none comes within `timeout` seconds."""
        self.sock.settimeout(timeout)
        try:
            message = self.sock.recv(4096).decode()
        except socket.timeout:
            raise AssertionError(f"no notification within {timeout} s; received so far: {self.received}")
        self.received.append(message)
        return message

    def wait_for(self, expected, timeout=10):
        """Reads datagrams until one equals `expected`; returns those read before it."""
        deadline = time.time() + timeout
        before = []
        while True:
            message = self.next(max(0.01, deadline - time.time()))
            if message == expected:
                return before
            before.append(message)

    def close(self):
        self.sock.close()
        os.unlink(self.path)
        os.rmdir(self.dir)
