"""A private Postfix instance as a test peer: its own configuration, queue and log file, listening on
one loopback port, started and stopped as root without touching the host's own Postfix.

    with PostfixPeer({"relayhost": "[127.0.0.1]:2525"}) as pf:
        ...  # submit mail to 127.0.0.1:pf.port with smtplib
        pf.wait_for_log(r"status=sent")

Why it is built this way (observed on Debian 12, Postfix 3.7): Postfix needs a copy
of the whole /etc/postfix, a private queue every parent of which user `postfix` can traverse, a
`data_directory` owned by `postfix`, `postfix check` before the first start, and `maillog_file`
under `maillog_file_prefixes` because there is no syslog."""
import os
import re
import shutil
import socket
import subprocess
import tempfile
import time

from harness import free_port

POSTFIX = shutil.which("postfix") or "/usr/sbin/postfix"
POSTCONF = shutil.which("postconf") or "/usr/sbin/postconf"
POSTQUEUE = shutil.which("postqueue") or "/usr/sbin/postqueue"


def make_certificate(subject="/CN=pf.test", key="rsa:2048"):
    """A self-signed certificate in a fresh folder Postfix can read; returns (cert, key) paths."""
    import harness
    d = tempfile.mkdtemp(prefix="pf-cert-")
    harness._made_dirs.append(d)
    os.chmod(d, 0o755)
    cert, key_path = os.path.join(d, "cert.pem"), os.path.join(d, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", key, "-nodes", "-days", "2",
                    "-subj", subject, "-keyout", key_path, "-out", cert],
                   check=True, capture_output=True, timeout=60)
    return cert, key_path


def relay_recipient_server(users, domains="corp.test", hostname="exchange.corp.test"):
    """An unstarted PostfixPeer as an organisation's internal mail server: it relays `domains`,
    knows exactly the addresses in `users` (relay_recipient_maps, so any other one is refused at
    RCPT with "550 5.1.1 ... User unknown in relay recipient table") and discards what it accepts
    (logged "status=sent" under its own queue id)."""
    import harness
    tables = tempfile.mkdtemp(prefix="internal-server-tables-")
    harness._made_dirs.append(tables)
    os.chmod(tables, 0o755)
    path = os.path.join(tables, "relay_recipients")
    with open(path, "w") as f:
        f.writelines(f"{u} OK\n" for u in users)
    os.chmod(path, 0o644)
    return PostfixPeer({"relay_domains": domains, "relay_recipient_maps": f"texthash:{path}",
                        "relay_transport": "discard"}, hostname=hostname)


def available():
    """Why a private Postfix cannot run here, or None when it can (root and the package present)."""
    if os.geteuid() != 0:
        return "a private Postfix instance must be started as root"
    if not (os.path.exists(POSTFIX) and os.path.exists(POSTCONF) and os.path.isdir("/etc/postfix")):
        return "Postfix is not installed (scripts/install-deps installs it)"
    return None


class PostfixPeer:
    """A private Postfix. `settings` are main.cf parameters that override the self-contained
    baseline (loopback only, private queue and log, nothing delivered locally). `port` is where its
    smtpd listens (a free one by default); `hostname` is its myhostname, hence its EHLO name."""

    def __init__(self, settings=None, port=None, hostname="postfix-peer.test"):
        self.port = port or free_port()
        self.hostname = hostname
        self.dir = tempfile.mkdtemp(prefix="postfix-e2e-")
        # The daemons run as user postfix and must traverse every parent of the queue.
        os.chmod(self.dir, 0o755)
        self.conf_dir = os.path.join(self.dir, "etc")
        self.queue_dir = os.path.join(self.dir, "queue")
        self.data_dir = os.path.join(self.dir, "data")
        self.log_path = os.path.join(self.dir, "postfix.log")
        self.running = False
        shutil.copytree("/etc/postfix", self.conf_dir)
        os.makedirs(self.queue_dir, mode=0o755)
        os.makedirs(self.data_dir)
        shutil.chown(self.data_dir, "postfix", "postfix")

        params = {
            "compatibility_level": "3.6",
            "queue_directory": self.queue_dir,
            "data_directory": self.data_dir,
            "myhostname": hostname,
            "mydomain": "postfix-peer.test",
            "myorigin": "$myhostname",
            "mydestination": "localhost",
            "inet_interfaces": "127.0.0.1",
            "inet_protocols": "ipv4",
            "mynetworks": "127.0.0.0/8",
            "alias_maps": "",
            "alias_database": "",
            "local_recipient_maps": "",
            "maillog_file": self.log_path,
            "maillog_file_prefixes": self.dir,
            # Nothing here may leave the machine or reach a real mailbox.
            "local_transport": "discard",
            "smtp_dns_support_level": "disabled",
            "biff": "no",
            # Short retry times so a deferred message is retried while a test still watches.
            "queue_run_delay": "10s",
            "minimal_backoff_time": "10s",
            "maximal_backoff_time": "20s",
        }
        params.update(settings or {})
        with open(os.path.join(self.conf_dir, "main.cf"), "w") as f:
            for k, v in params.items():
                f.write(f"{k} = {v}\n")

        # No chroot anywhere: a chroot would be the private queue, without /etc/services and friends.
        self._postconf("-F", "*/*/chroot = n")
        self._postconf("-MX", "smtp/inet")
        self._postconf("-M", f"127.0.0.1:{self.port}/inet = 127.0.0.1:{self.port} inet n - n - - smtpd")

    def _postconf(self, *args):
        subprocess.run([POSTCONF, "-c", self.conf_dir, *args], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=30)

    def _postfix(self, *args, check=True):
        return subprocess.run([POSTFIX, "-c", self.conf_dir, *args], check=check,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=60)

    def start(self):
        """Creates the queue (`postfix check`), starts the master and waits until smtpd's port
        accepts connections."""
        out = self._postfix("check", check=False)
        if out.returncode != 0:
            raise RuntimeError(f"postfix check failed: {out.stdout}")
        out = self._postfix("start", check=False)
        if out.returncode != 0:
            # The master's own reason (a bind conflict, most often) reaches no log: say who
            # holds the port instead.
            try:
                holders = subprocess.run(["ss", "-tanp", f"sport = :{self.port}"], check=False,
                                         capture_output=True, text=True, timeout=30).stdout
            except OSError as e:
                holders = f"(ss: {e})"
            raise RuntimeError(f"postfix start failed: {out.stdout}\n{self.log()}\n"
                               f"sockets on port {self.port}:\n{holders}")
        self.running = True
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return self
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"postfix did not listen on 127.0.0.1:{self.port}: {self.log()}")

    def stop(self):
        """`postfix stop` (which waits for the master and kills it after 5 s)."""
        if self.running:
            self.running = False
            self._postfix("stop", check=False)

    def cleanup(self):
        """Stops the instance and removes its folder (queue, configuration, log)."""
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        # Stops but keeps the folder, so a failing test can still read the log; call cleanup().
        self.stop()

    def flush(self):
        """Asks the queue manager to retry deferred mail now (`postqueue -f`)."""
        subprocess.run([POSTQUEUE, "-c", self.conf_dir, "-f"], check=False, timeout=30,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def queue(self):
        """`postqueue -p` output: what is still queued."""
        return subprocess.run([POSTQUEUE, "-c", self.conf_dir, "-p"], check=False, timeout=30,
                              capture_output=True, text=True).stdout

    def log(self):
        try:
            with open(self.log_path, encoding="utf-8", errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def log_lines(self):
        return self.log().splitlines()

    def wait_for_log(self, pattern, timeout=30):
        """The first log line matching the regular expression `pattern`, waiting for it up to
        `timeout` seconds; returns the match object, or raises AssertionError with the log."""
        rx = re.compile(pattern)
        deadline = time.time() + timeout
        while True:
            for line in self.log_lines():
                m = rx.search(line)
                if m:
                    return m
            if time.time() > deadline:
                raise AssertionError(f"no Postfix log line matches {pattern!r} within {timeout}s:\n"
                                     + self.log())
            time.sleep(0.1)
