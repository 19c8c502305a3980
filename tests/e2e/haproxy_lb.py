"""A private HAProxy (Debian's haproxy) in `mode tcp` on one loopback port, balancing over SMTP
backends, for tests of gateways behind a load balancer (issue 19).

    with HaproxyLb() as lb:
        lb.add_server("a", gateway_a.port(), "send-proxy-v2 check-send-proxy")
        lb.add_server("b", gateway_b.port(), "send-proxy-v2 check-send-proxy")
        lb.start()
        lb.wait_state("a", "UP")
        ...  # SMTP to 127.0.0.1:<lb.port>

Everything is in its own folder: the configuration (`haproxy -f <cfg>`), the stats socket that
server_states() reads, stderr. Health checks are `option smtpchk` every `check_interval` ms, a
server taken out after `fall` failed checks and back after `rise` good ones; `balance roundrobin`
unless told otherwise. `options` of a server are HAProxy's own words ("send-proxy",
"send-proxy-v2", "check-send-proxy", "disabled", ...)."""
import os
import shutil
import socket
import subprocess
import tempfile
import time

import harness

HAPROXY = shutil.which("haproxy") or "/usr/sbin/haproxy"


def available():
    """Why HAProxy cannot run here, or None when it can."""
    if not os.path.exists(HAPROXY):
        return "haproxy is not installed (scripts/install-deps installs it)"
    return None


class HaproxyLb:
    def __init__(self, port=None, check_interval=200, fall=1, rise=1, balance="roundrobin", smtpchk=True,
                 retries=3, extra_backend=""):
        self.port = port or harness.free_port()
        self.dir = tempfile.mkdtemp(prefix="haproxy-e2e-")
        harness._made_dirs.append(self.dir)
        self.check_interval = check_interval
        self.fall, self.rise = fall, rise
        self.balance = balance
        self.smtpchk = smtpchk
        self.retries = retries
        self.extra_backend = extra_backend
        self.servers = []  # (name, host, port, options)
        self.proc = None

    def path(self, *parts):
        return os.path.join(self.dir, *parts)

    def add_server(self, name, port, options="", host="127.0.0.1", check=True):
        """A backend server `name` at `host`:`port`, health-checked unless `check` is False."""
        words = f"check inter {self.check_interval} fall {self.fall} rise {self.rise} " if check else ""
        self.servers.append((name, host, port, words + options))

    def _config(self):
        servers = "".join(f"  server {name} {host}:{port} {options}\n" for name, host, port, options in self.servers)
        return f"""global
  stats socket {self.path("stats.sock")} mode 600 level admin
  maxconn 4096

defaults
  mode tcp
  timeout connect 2s
  timeout client 60s
  timeout server 60s
  timeout check 2s
  retries {self.retries}
  option redispatch

frontend smtp
  bind 127.0.0.1:{self.port}
  default_backend gateways

backend gateways
  balance {self.balance}
{"  option smtpchk EHLO lb.sluice.test" if self.smtpchk else ""}
{self.extra_backend}
{servers}"""

    def start(self):
        cfg = self.path("haproxy.cfg")
        with open(cfg, "w") as f:
            f.write(self._config())
        self.log = open(self.path("stderr.log"), "w")
        # -db: stay in the foreground, no daemon; -W would start a master process we do not need.
        self.proc = subprocess.Popen([HAPROXY, "-db", "-f", cfg], stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + 20
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"haproxy exited with {self.proc.returncode}: {self.errors()}")
            # Asked on the stats socket, not by connecting to the front end: a test connection
            # would reach a backend as a session of its own (from 127.0.0.1) in the gateways' logs.
            if os.path.exists(self.path("stats.sock")) and self._frontend_open():
                return self
            time.sleep(0.05)
        raise RuntimeError(f"haproxy did not listen on 127.0.0.1:{self.port}: {self.errors()}")

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None
        if getattr(self, "log", None) and not self.log.closed:
            self.log.close()

    def errors(self):
        try:
            with open(self.path("stderr.log"), errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def command(self, line):
        """One command on the stats socket ("show stat", "disable server gateways/a"); its answer."""
        with socket.socket(socket.AF_UNIX) as s:
            s.settimeout(5)
            s.connect(self.path("stats.sock"))
            s.sendall(line.encode() + b"\n")
            chunks = []
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                chunks.append(chunk)
        return b"".join(chunks).decode(errors="replace")

    def _frontend_open(self):
        try:
            lines = self.command("show stat").splitlines()
        except OSError:
            return False
        return any(line.startswith("smtp,FRONTEND,") and ",OPEN," in line for line in lines)

    def server_stats(self):
        """{server name: {column: value}} of the backend's servers, from `show stat` (CSV)."""
        lines = self.command("show stat").splitlines()
        if not lines or not lines[0].startswith("# "):
            return {}
        columns = lines[0][2:].split(",")
        out = {}
        for line in lines[1:]:
            row = dict(zip(columns, line.split(",")))
            if row.get("pxname") == "gateways" and row.get("svname") not in ("BACKEND", "FRONTEND", None):
                out[row["svname"]] = row
        return out

    def server_states(self):
        """{server name: "UP" | "DOWN" | "MAINT" | ...}; a state in transition reads e.g. "DOWN 1/2"."""
        return {name: row.get("status", "") for name, row in self.server_stats().items()}

    def wait_state(self, name, state, timeout=15):
        """Waits until server `name` is in `state` ("UP", "DOWN"); fails the test otherwise."""
        return harness.wait_for(f"haproxy server {name} {state} (now {self.server_states().get(name)})",
                                lambda: self.server_states().get(name) == state, timeout=timeout)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()
