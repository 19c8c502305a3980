"""Shared pieces for end-to-end tests: start the real `sluice serve` on loopback, find its logs and
delivered mail, and talk to it with real clients. Each test module is one ctest case."""
import glob
import os
import signal
import socket
import subprocess
import tempfile
import textwrap
import time

SLUICE = os.environ.get("SLUICE_BIN", os.path.join(os.path.dirname(__file__), "../../build/sluice"))
SOURCE_DIR = os.environ.get("SLUICE_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "../.."))


def free_port():
    """An unprivileged loopback port nobody listens on right now."""
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
        os.chmod(self.dir, 0o755)
        self.state = os.path.join(self.dir, "state")
        self.ports = {}
        lines = [f'state_dir = "{self.state}"', f'hostname = "{hostname}"',
                 "local_domains = [" + ", ".join(f'"{d}"' for d in local_domains) + "]", extra, ""]
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

    def start(self, *args):
        self.stderr = open(self.stderr_path, "w")
        self.proc = subprocess.Popen([SLUICE, "serve", "--config", self.config, *args],
                                     stdout=subprocess.DEVNULL, stderr=self.stderr)
        deadline = time.time() + 30
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"sluice exited with {self.proc.returncode}: {self.server_log()}")
            if all(self._listening(p) for p in self.ports.values()):
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
        return self.proc.returncode if self.proc else None

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
        deadline = time.time() + timeout
        pattern = os.path.join(self.state, "maildir", mailbox, "new", "*")
        while True:
            files = sorted(glob.glob(pattern))
            if len(files) >= count or time.time() > deadline:
                out = []
                for p in files:
                    with open(p, "rb") as f:
                        out.append(f.read())
                return out
            time.sleep(0.05)


def toml_value(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
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
