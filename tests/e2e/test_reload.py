"""End-to-end: SIGHUP reloads the configuration and every certificate of a running `sluice serve`
without dropping a session or a message. Under a steady STARTTLS load from the project's load
generator (bench/loadgen), ten reloads change connectors, a TLS policy and the certificate (renewed
in place, as certbot and acme.sh do), one of them with a broken configuration, while another client
opens connection after connection: no session fails, no connection is refused,
every message sent is delivered, a client sees the old certificate before each reload and the new
one after it; the broken one is refused and the running configuration keeps serving. And a session
that began before a reload finishes on its old connector, even one the reload removed."""
import hashlib
import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402

CTEST_PROCESSORS = 2  # the load generator and the gateway keep a core busy each
LOADGEN = os.path.join(os.path.dirname(os.path.abspath(harness.SLUICE)), "bench", "sluice-loadgen")
RELOADS = 10
BROKEN = 5  # the reload whose configuration does not load
MIN_MESSAGES = 3000


def make_ec_certificate(directory, name):
    """A self-signed P-256 certificate and key in `directory` (EC keys: fast to make)."""
    cert, key = os.path.join(directory, f"{name}.crt"), os.path.join(directory, f"{name}.key")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                    "-days", "2", "-subj", f"/CN={name}.reload.test", "-keyout", key, "-out", cert],
                   check=True, capture_output=True, timeout=60)
    return cert, key


def der_sha256(pem_path):
    with open(pem_path) as f:
        return hashlib.sha256(ssl.PEM_cert_to_DER_cert(f.read())).hexdigest()


def starttls(port, context):
    """The TLS socket after EHLO and STARTTLS on `port` (the caller closes it); ssl.SSLError when
    the handshake fails."""
    raw = socket.create_connection(("127.0.0.1", port), timeout=10)
    try:
        f = raw.makefile("rb")
        assert f.readline().startswith(b"220")
        raw.sendall(b"EHLO client.test\r\n")
        while not f.readline().startswith(b"250 "):
            pass
        raw.sendall(b"STARTTLS\r\n")
        assert f.readline().startswith(b"220")
        return context.wrap_socket(raw, server_hostname="reload.test")
    except BaseException:
        raw.close()
        raise


def served_sha256(port):
    """The SHA-256 of the certificate the server presents after STARTTLS, as a client sees it."""
    with starttls(port, harness.tls_client_context()) as tls:
        der = tls.getpeercert(binary_form=True)
        tls.sendall(b"QUIT\r\n")
        return hashlib.sha256(der).hexdigest()


def takes_chacha20_with_tls12(port):
    """True when a TLS 1.2 client offering only ECDHE-ECDSA-CHACHA20-POLY1305 gets a session: the
    "default" profile has that suite, "exchange-online" (Exchange Online's list) does not."""
    context = harness.tls_client_context(maximum=ssl.TLSVersion.TLSv1_2)
    context.set_ciphers("ECDHE-ECDSA-CHACHA20-POLY1305")
    try:
        with starttls(port, context) as tls:
            tls.sendall(b"QUIT\r\n")
            return True
    except ssl.SSLError:
        return False


def banner(port):
    """The server's first line on `port`, or None when the connection is refused."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
            return s.makefile("rb").readline().decode()
    except ConnectionRefusedError:
        return None


class Gateway:
    """A sluice whose configuration the test rewrites between reloads: the connector "Load" on a
    fixed port with its certificate in live/ (replaced in place at renewal), and an "Extra"
    connector that moves to a new port with every reload."""

    def __init__(self):
        self.sluice = harness.Sluice()
        self.live = os.path.join(self.sluice.dir, "live")
        os.mkdir(self.live)
        self.load_port = harness.free_port()
        self.dns_port = harness.free_port()
        self.sluice.ports = {"Load": self.load_port}

    def write(self, extra_port, profile="default", broken=False):
        s = self.sluice
        keep_root = 'user = "root"' if os.geteuid() == 0 else ""  # as harness.Sluice: tests keep root
        text = f'''state_dir = "{s.state}"
{keep_root}
hostname = "mx.reload.test"
local_domains = ["sluice.test"]
dns_servers = ["127.0.0.1:{self.dns_port}"]
[limits]
max_connections_per_ip = 1000
{"max_recipients = 0" if broken else ""}
[[receive_connector]]
name = "Load"
listen = ["127.0.0.1:{self.load_port}"]
[receive_connector.tls]
profile = "{profile}"
certificate = "{self.live}/cert.pem"
key = "{self.live}/key.pem"
[[receive_connector]]
name = "Extra {extra_port}"
listen = ["127.0.0.1:{extra_port}"]
'''
        tmp = s.config + ".tmp"
        with open(tmp, "w") as f:
            f.write(text)
        os.replace(tmp, s.config)

    def install_certificate(self, cert, key):
        """As a renewal does: the new files replace the old ones under the same names."""
        for src, name in ((key, "key.pem"), (cert, "cert.pem")):
            with open(src, "rb") as f:
                data = f.read()
            tmp = os.path.join(self.live, name + ".tmp")
            with open(tmp, "wb") as f:
                f.write(data)
            os.replace(tmp, os.path.join(self.live, name))

    def reloads_logged(self):
        log = self.sluice.server_log()
        return log.count("configuration reloaded"), log.count("reload refused")

    def reload(self):
        """SIGHUP, then waits for the reload's log line; returns "applied" or "refused"."""
        applied, refused = self.reloads_logged()
        self.sluice.proc.send_signal(signal.SIGHUP)
        now = harness.wait_for("the reload's log line", lambda: (lambda n: n if n != (applied, refused) else None)(
            self.reloads_logged()), timeout=30)
        return "applied" if now[0] > applied else "refused"

    def delivered(self):
        d = os.path.join(self.sluice.state, "maildir", "sink", "new")
        return len(os.listdir(d)) if os.path.isdir(d) else 0


class Load(threading.Thread):
    """sluice-loadgen runs back to back (STARTTLS with TLS 1.3, a new connection every 5 messages)
    until told to stop and at least MIN_MESSAGES were sent; every run must end without an error."""

    def __init__(self, port):
        super().__init__(daemon=True)
        self.port, self.sent, self.failures, self.stop = port, 0, [], threading.Event()
        self.runs = 0

    def run(self):
        while not (self.stop.is_set() and self.sent >= MIN_MESSAGES):
            p = subprocess.run([LOADGEN, "--port", str(self.port), "--sessions", "8", "--tls", "1.3", "--size", "2k",
                                "--per-connection", "5", "--count", "400", "--to", "sink@sluice.test", "--json"],
                               capture_output=True, text=True, timeout=120)
            self.runs += 1
            try:
                report = json.loads(p.stdout)
            except ValueError:
                self.failures.append(f"exit {p.returncode}: {p.stdout} {p.stderr}")
                return
            self.sent += report["messages_ok"]
            if p.returncode != 0 or report["messages_failed"] or report["errors"]:
                self.failures.append(report)
                return


class Knocker(threading.Thread):
    """New plaintext connections to `port` one after another (banner, QUIT) until stopped: a
    listening socket closed and reopened by a reload, however briefly, refuses or resets some."""

    def __init__(self, port):
        super().__init__(daemon=True)
        self.port, self.connections, self.failures, self.stop = port, 0, [], threading.Event()

    def run(self):
        while not self.stop.is_set():
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=10) as s:
                    f = s.makefile("rb")
                    line = f.readline()
                    s.sendall(b"QUIT\r\n")
                    if not line.startswith(b"220 ") or not f.readline().startswith(b"221"):
                        self.failures.append(line)
            except OSError as e:
                self.failures.append(repr(e))
            self.connections += 1


@unittest.skipUnless(os.path.exists(LOADGEN), f"{LOADGEN} is not built (bench/README.md)")
class ReloadUnderLoad(unittest.TestCase):
    CTEST_SECONDS = 18  # its rough duration: ctest starts the longest first

    def test_ten_reloads_lose_no_session_and_no_message(self):
        d = tempfile.mkdtemp(prefix="reload-certs-")
        harness._made_dirs.append(d)
        certificates = [make_ec_certificate(d, f"cert{i}") for i in range(RELOADS + 1)]
        gw = Gateway()
        self.addCleanup(gw.sluice.remove)
        gw.install_certificate(*certificates[0])
        extra = harness.free_port()
        gw.write(extra)
        gw.sluice.start()
        self.addCleanup(gw.sluice.stop)
        self.assertEqual(served_sha256(gw.load_port), der_sha256(certificates[0][0]))
        self.assertTrue(takes_chacha20_with_tls12(gw.load_port))

        load = Load(gw.load_port)
        load.start()
        self.addCleanup(load.stop.set)
        knocker = Knocker(gw.load_port)
        knocker.start()
        self.addCleanup(knocker.stop.set)
        serving = 0  # the certificate served now
        for i in range(1, RELOADS + 1):
            # Mail flows between reloads: each one happens under load.
            before = gw.delivered()
            harness.wait_for("messages between reloads", lambda: gw.delivered() >= before + 100 or load.failures)
            self.assertEqual(load.failures, [])
            self.assertEqual(served_sha256(gw.load_port), der_sha256(certificates[serving][0]), f"before reload {i}")
            new_extra = harness.free_port()
            gw.install_certificate(*certificates[i])
            gw.write(new_extra, profile="exchange-online" if i % 2 else "default", broken=(i == BROKEN))
            outcome = gw.reload()
            if i == BROKEN:
                self.assertEqual(outcome, "refused")
                # The running configuration keeps serving: its certificate (already read) and its connectors.
                self.assertEqual(served_sha256(gw.load_port), der_sha256(certificates[serving][0]))
                self.assertTrue(takes_chacha20_with_tls12(gw.load_port))
                self.assertIsNotNone(banner(extra))
                self.assertIsNone(banner(new_extra))
                continue
            self.assertEqual(outcome, "applied", gw.sluice.server_log()[-2000:])
            serving = i
            self.assertEqual(served_sha256(gw.load_port), der_sha256(certificates[i][0]), f"after reload {i}")
            self.assertEqual(takes_chacha20_with_tls12(gw.load_port), i % 2 == 0, f"the policy after reload {i}")
            self.assertTrue(banner(new_extra).startswith("220 "))
            self.assertIsNone(banner(extra), f"reload {i} left the old Extra connector listening")
            extra = new_extra

        knocker.stop.set()
        knocker.join(timeout=30)
        self.assertEqual(knocker.failures, [])
        load.stop.set()
        load.join(timeout=180)
        self.assertFalse(load.is_alive())
        self.assertEqual(load.failures, [])
        self.assertGreaterEqual(load.sent, MIN_MESSAGES)
        harness.wait_for(f"{load.sent} messages delivered", lambda: gw.delivered() == load.sent, timeout=60)
        self.assertEqual(gw.delivered(), load.sent)
        log = gw.sluice.server_log()
        self.assertEqual(log.count("configuration reloaded"), RELOADS - 1, log[-3000:])
        self.assertEqual(log.count("reload refused"), 1)
        self.assertRegex(log, r"reload refused, the running configuration keeps serving: 1 problem\(s\): .*"
                              r"limits\.max_recipients")
        self.assertIn(f'receive connectors added: "Extra {extra}"', log)
        self.assertRegex(log, r'certificates loaded: (.*; )?"Load" SHA256 ')
        self.assertNotIn("take effect at the next restart", log)
        self.assertEqual(gw.sluice.stop(), 0)
        print(f"\nreload under load: {load.sent} messages in {load.runs} load generator runs and "
              f"{knocker.connections} more connections, {RELOADS} reloads (1 refused), all delivered")


class SessionAcrossReload(unittest.TestCase):
    def test_a_session_begun_before_a_reload_finishes_on_its_old_connector(self):
        sluice = harness.Sluice(connectors=[{"name": "Before"}])
        self.addCleanup(sluice.remove)
        port = sluice.port_of("Before")
        sluice.start()
        self.addCleanup(sluice.stop)
        old = harness.Raw(port)
        self.addCleanup(old.close)
        self.assertEqual(old.reply()[0], 220)
        self.assertEqual(old.cmd("EHLO old.test")[0], 250)
        self.assertEqual(old.cmd("MAIL FROM:<a@example.net>")[0], 250)
        self.assertEqual(old.cmd("RCPT TO:<first@sluice.test>")[0], 250)

        # The reload renames the connector on the same address, makes it require STARTTLS first, and
        # gives a second one a new port.
        other = harness.free_port()
        with open(sluice.config) as f:
            text = f.read()
        text = text.replace('name = "Before"', 'name = "After"\nrequire_tls = true')
        text += f'\n[[receive_connector]]\nname = "Second"\nlisten = ["127.0.0.1:{other}"]\n'
        with open(sluice.config, "w") as f:
            f.write(text)
        sluice.proc.send_signal(signal.SIGHUP)
        harness.wait_for("the reload", lambda: "configuration reloaded" in sluice.server_log())
        self.assertIn('receive connectors added: "After", "Second"; receive connectors removed: "Before"',
                      sluice.server_log())
        self.assertTrue(banner(other).startswith("220 "))

        # The old session goes on as it began, plaintext DATA included, and its message is delivered;
        # a new one on the same socket gets the new connector, which wants STARTTLS first.
        self.assertEqual(old.cmd("DATA")[0], 354)
        self.assertEqual(old.cmd("Subject: across\r\n\r\nbody\r\n.")[0], 250)
        self.assertEqual(old.cmd("QUIT")[0], 221)
        new = harness.Raw(port)
        self.addCleanup(new.close)
        self.assertEqual(new.reply()[0], 220)
        self.assertEqual(new.cmd("EHLO new.test")[0], 250)
        self.assertEqual(new.cmd("MAIL FROM:<b@example.net>"), (451, "451 5.7.3 Must issue a STARTTLS command first"))
        self.assertEqual(new.cmd("QUIT")[0], 221)
        sluice.maildir("first", 1)
        harness.wait_for("the sessions logged", lambda: len(harness.log_sessions(sluice)) >= 3)
        connectors = {recs[0].remote: recs[0].connector for recs in harness.log_sessions(sluice).values()}
        self.assertEqual(connectors[f"127.0.0.1:{old.sock.getsockname()[1]}"], "Before")
        self.assertEqual(connectors[f"127.0.0.1:{new.sock.getsockname()[1]}"], "After")


class ReloadThatCannotBind(unittest.TestCase):
    def test_an_address_in_use_refuses_the_whole_reload(self):
        sluice = harness.Sluice(connectors=[{"name": "Kept"}])
        self.addCleanup(sluice.remove)
        sluice.start()
        self.addCleanup(sluice.stop)
        taken = socket.socket()
        self.addCleanup(taken.close)
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        busy = taken.getsockname()[1]
        free = harness.free_port()
        with open(sluice.config) as f:
            text = f.read()
        with open(sluice.config, "w") as f:
            f.write(text.replace('name = "Kept"', 'name = "Renamed"') +
                    f'\n[[receive_connector]]\nname = "Free"\nlisten = ["127.0.0.1:{free}"]\n'
                    f'\n[[receive_connector]]\nname = "Busy"\nlisten = ["127.0.0.1:{busy}"]\n')
        sluice.proc.send_signal(signal.SIGHUP)
        harness.wait_for("the refusal", lambda: "reload refused" in sluice.server_log())
        self.assertRegex(sluice.server_log(), rf"reload refused, the running configuration keeps serving: cannot listen "
                                              rf"on 127\.0\.0\.1:{busy}: ")
        # Nothing changed: the address opened for "Free" was closed again, and new sessions still
        # get the old connector.
        self.assertIsNone(banner(free))
        raw = harness.Raw(sluice.port_of("Kept"))
        self.addCleanup(raw.close)
        self.assertEqual(raw.reply()[0], 220)
        self.assertEqual(raw.cmd("QUIT")[0], 221)
        sessions = harness.wait_for("the session logged", lambda: [
            recs for recs in harness.log_sessions(sluice).values() if recs[-1].event == "-"])
        self.assertEqual({recs[0].connector for recs in sessions}, {"Kept"})


if __name__ == "__main__":
    unittest.main()
