"""Postfix's smtp-sink as a next hop for tests: on a free loopback port, each transaction dumped
to a file of its own (with X-Mail-Args and X-Rcpt-Args headers: the MAIL FROM and RCPT TO it was
given). Used by the Dovecot peer (dovecot_peer.py) and by tests that relay to it directly.

    sink = PostfixSmtpSink().start()
    ...
    sink.messages(count=1)   # bytes, once that many dumps are complete
    sink.stop()"""
import email
import email.policy
import os
import pwd
import shutil
import subprocess
import tempfile

import harness

SMTP_SINK = shutil.which("smtp-sink") or "/usr/sbin/smtp-sink"


def available():
    """Why smtp-sink cannot run here, or None when it can."""
    if not os.path.exists(SMTP_SINK):
        return "smtp-sink (Debian postfix) is installed by scripts/install-deps"
    return None


def _has_user(name):
    try:
        pwd.getpwnam(name)
        return True
    except KeyError:
        return False


class PostfixSmtpSink:
    """Postfix's smtp-sink program (not test_crash_consistency.SmtpSink, a sink written in Python
    that can drop or reset connections on purpose)."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="smtp-sink-e2e-")
        harness._made_dirs.append(self.dir)
        self.port = harness.free_port()
        self.proc = None

    def start(self, *options):
        """Starts it; `options` are smtp-sink's, e.g. "-f", "RCPT" to refuse every RCPT with a 5xx."""
        args = [SMTP_SINK, *options, "-d", os.path.join(self.dir, "msg.")]
        if os.geteuid() == 0:
            # smtp-sink refuses to run as root; its dumps are written as the user it becomes.
            user = "postfix" if _has_user("postfix") else "nobody"
            shutil.chown(self.dir, user)
            args += ["-u", user]
        self.proc = subprocess.Popen(args + [f"127.0.0.1:{self.port}", "10"], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE)
        if not harness.wait_until(lambda: harness.listening(self.port) or self.proc.poll() is not None, 10):
            raise RuntimeError("smtp-sink did not start listening")
        if self.proc.poll() is not None:
            raise RuntimeError(f"smtp-sink exited: {self.proc.stderr.read().decode(errors='replace')}")
        return self

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)
        if self.proc:
            self.proc.stderr.close()

    def _complete(self):
        texts = []
        for name in sorted(os.listdir(self.dir)):
            with open(os.path.join(self.dir, name), "rb") as f:
                texts.append(f.read())
        # A dump is complete once smtp-sink has written the empty line that ends it.
        return [t for t in texts if t.endswith(b"\n\n")]

    def messages(self, count=1, timeout=20):
        """The complete dumps (bytes: envelope headers and content), once there are `count` or the
        time is up; count=0 and timeout=0 for what is there now."""
        harness.wait_until(lambda: len(self._complete()) >= count, timeout)
        return self._complete()

    def dumps(self, count, timeout=20):
        """messages(), parsed (email.message.Message)."""
        return [email.message_from_bytes(t, policy=email.policy.default) for t in self.messages(count, timeout)]
