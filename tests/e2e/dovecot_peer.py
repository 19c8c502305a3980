"""A private Dovecot submission service as a test peer: a smart host that wants SMTP AUTH, relaying
what it accepts to a sink. Its own configuration, base_dir, state and log under a temp folder, one
loopback port, started with `dovecot -F -c <conf>` and stopped with SIGTERM; the host's own Dovecot
is not touched.

    with DovecotPeer(relay_port=sink.port, users={"scanner": "s3cret"}) as dv:
        ...  # AUTH PLAIN/LOGIN on 127.0.0.1:dv.port after STARTTLS

`oauth2_introspection_url` switches the passdb to Dovecot's oauth2 driver: AUTH XOAUTH2 and
OAUTHBEARER, each token checked with a POST to that URL (RFC 7662 introspection).

Why it is built this way (observed with Debian 12's Dovecot 2.3.19): the master runs as the
current user (root in CI), login processes as dovenull and the submission process as user dovecot,
so the folder must be traversable by them; submission wants a mail_location even though it stores
nothing, and first_valid_uid must admit dovecot's uid."""
import os
import re
import shutil
import signal
import subprocess
import tempfile

import harness
from harness import free_port, listening, wait_until
from smtp_sink import PostfixSmtpSink

DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"


def installed():
    """True when Dovecot and its submission service are installed."""
    return os.path.exists(DOVECOT) and os.path.exists("/usr/lib/dovecot/submission")


def available():
    """Why a private Dovecot cannot run here, or None when it can."""
    if os.geteuid() != 0:
        return "a private Dovecot instance is started as root here (its login processes change user)"
    if not installed():
        return "Dovecot's submission service is not installed (scripts/install-deps: dovecot-core, dovecot-submissiond)"
    return None


class DovecotPeer:
    """Dovecot submission on 127.0.0.1:`port` with STARTTLS (its own self-signed certificate),
    AUTH only inside TLS, relaying to 127.0.0.1:`relay_port`. `users` maps user names to passwords
    (a passwd-file passdb) unless `oauth2_introspection_url` is given."""

    def __init__(self, relay_port, users=None, oauth2_introspection_url=None, hostname="dovecot-peer.test"):
        from postfix_peer import make_certificate
        self.port = free_port()
        self.hostname = hostname
        self.dir = tempfile.mkdtemp(prefix="dovecot-e2e-")
        harness._made_dirs.append(self.dir)
        os.chmod(self.dir, 0o755)
        self.log_path = os.path.join(self.dir, "dovecot.log")
        self.conf = os.path.join(self.dir, "dovecot.conf")
        cert, key = make_certificate(f"/CN={hostname}")
        for sub in ("run", "state", "mail"):
            os.makedirs(os.path.join(self.dir, sub))
        os.chmod(os.path.join(self.dir, "mail"), 0o777)
        if oauth2_introspection_url:
            oauth_conf = os.path.join(self.dir, "dovecot-oauth2.conf.ext")
            with open(oauth_conf, "w") as f:
                f.write(f"introspection_mode = post\nintrospection_url = {oauth2_introspection_url}\n"
                        "username_attribute = username\nactive_attribute = active\nactive_value = true\n"
                        "tokeninfo_url = \n")
            passdb = f"passdb {{\n  driver = oauth2\n  mechanisms = xoauth2 oauthbearer\n  args = {oauth_conf}\n}}\n"
            mechanisms = "xoauth2 oauthbearer"
        else:
            passwd = os.path.join(self.dir, "passwd")
            with open(passwd, "w") as f:
                f.writelines(f"{user}:{{PLAIN}}{password}::::::\n" for user, password in (users or {}).items())
            passdb = f"passdb {{\n  driver = passwd-file\n  args = scheme=PLAIN {passwd}\n}}\n"
            mechanisms = "plain login"
        d = self.dir
        with open(self.conf, "w") as f:
            f.write(f"""base_dir = {d}/run
state_dir = {d}/state
log_path = {self.log_path}
protocols = submission
listen = 127.0.0.1
ssl = required
ssl_cert = <{cert}
ssl_key = <{key}
hostname = {hostname}
first_valid_uid = 1
mail_location = maildir:{d}/mail/%u
auth_mechanisms = {mechanisms}
disable_plaintext_auth = yes
auth_verbose = yes
submission_relay_host = 127.0.0.1
submission_relay_port = {relay_port}
submission_relay_ssl = no
{passdb}
userdb {{
  driver = static
  args = uid=dovecot gid=dovecot home={d}/mail/%u
}}
service submission-login {{
  inet_listener submission {{
    address = 127.0.0.1
    port = {self.port}
  }}
}}
""")
        self.proc = None

    def start(self):
        with open(os.path.join(self.dir, "stderr.log"), "w") as stderr:
            self.proc = subprocess.Popen([DOVECOT, "-F", "-c", self.conf], stdout=subprocess.DEVNULL, stderr=stderr)
        if not wait_until(lambda: listening(self.port) or self.proc.poll() is not None, 20) or \
                self.proc.poll() is not None:
            raise RuntimeError(f"dovecot did not start: {self.log()}")
        return self

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def log(self):
        try:
            with open(self.log_path) as f:
                return f.read()
        except OSError:
            return ""

    def wait_for_log(self, pattern, timeout=20):
        """The first match of `pattern` in Dovecot's log, waiting for it; None when it does not come."""
        return wait_until(lambda: re.search(pattern, self.log()), timeout)


def start_for_class(cls, **settings):
    """For a test class's setUpClass: skips it when Dovecot cannot run here, else starts an
    smtp-sink and a DovecotPeer relaying to it (`settings` as DovecotPeer takes them), both stopped
    by class cleanups, as cls.sink and cls.dovecot."""
    import unittest
    reason = available()
    if reason:
        raise unittest.SkipTest(reason)
    cls.sink = PostfixSmtpSink().start()
    cls.addClassCleanup(cls.sink.stop)
    cls.dovecot = DovecotPeer(relay_port=cls.sink.port, **settings).start()
    cls.addClassCleanup(cls.dovecot.stop)
