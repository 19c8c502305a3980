"""Promise 2 of docs/security.md: no command injection across STARTTLS, in either direction.

Server side: a raw client writes STARTTLS and more commands in one write, then does the TLS
handshake. The pipelined plaintext must never be answered inside TLS, and the session after the
handshake must be fresh (EHLO needed, no transaction), as RFC 3207 4.2 asks (CVE-2011-0411 class).

Client side: sluice relays to FakeSmtpServer, a scripted SMTP server on loopback that answers
STARTTLS with `220` plus extra plaintext replies in the same write. sluice must drop them, greet
again inside TLS and deliver the message once. FakeSmtpServer is also used by
test_downgrade_decisions.py."""
import json
import os
import re
import smtplib
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import warnings

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402
from harness import Raw, tls_client_context, wait_for_session  # noqa: E402

SENDER = "alice@sluice.test"
RECIPIENT = "user@fake.test"


# ---------------------------------------------------------------------------------------------
# A scripted SMTP server for the client side
# ---------------------------------------------------------------------------------------------


def make_certificate(cn="fake.test"):
    """A self-signed certificate in a fresh folder; returns (cert, key) paths."""
    d = tempfile.mkdtemp(prefix="fake-cert-")
    harness._made_dirs.append(d)
    cert, key = os.path.join(d, "cert.pem"), os.path.join(d, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-subj", f"/CN={cn}", "-keyout", key, "-out", cert],
                   check=True, capture_output=True, timeout=60)
    return cert, key


_CERT = None


def server_tls_context(minimum=None, maximum=None):
    """A server SSLContext with one shared self-signed certificate. With versions below TLS 1.2 the
    OpenSSL security level is lowered to 0, as it must be for OpenSSL 3 to speak them at all."""
    global _CERT
    if _CERT is None:
        _CERT = make_certificate()
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(*_CERT)
    if minimum is not None and minimum < ssl.TLSVersion.TLSv1_2:
        ctx.set_ciphers("ALL:@SECLEVEL=0")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # TLSVersion.TLSv1_1 and older
        if minimum is not None:
            ctx.minimum_version = minimum
        if maximum is not None:
            ctx.maximum_version = maximum
    return ctx


class FakeSession:
    """What one connection to FakeSmtpServer saw."""

    def __init__(self):
        # (inside_tls, command line, more bytes were already buffered behind it)
        self.commands = []
        self.messages = []  # (inside_tls, message data without the final ".")
        self.tls_version = None
        self.handshake_error = None
        self.finished = False

    def verbs(self, tls):
        return [line.split(" ", 1)[0].upper() for inside, line, _ in self.commands if inside == tls]


class FakeSmtpServer:
    """A threaded SMTP server on 127.0.0.1 that follows a script instead of judging anything.

    `starttls_reply` is written in ONE write in answer to STARTTLS (put injected replies after the
    220 to test a client); `after_220` is written 0.2 s later, as a separate segment, right before
    the handshake. `tls_context` None with a 220 means: write `not_tls` instead of doing a
    handshake, then close (a peer whose TLS always fails). `pipelining_plain`/`pipelining_tls`
    choose whether PIPELINING is in the EHLO reply before/after the handshake. Every
    connection's commands and messages are recorded in `sessions`."""

    def __init__(self, tls_context=None, offer_starttls=True, starttls_reply=b"220 2.0.0 Ready to start TLS\r\n",
                 after_220=b"", not_tls=b"", pipelining_plain=False, pipelining_tls=False):
        self.tls_context = tls_context
        self.offer_starttls = offer_starttls
        self.starttls_reply = starttls_reply
        self.after_220 = after_220
        self.not_tls = not_tls
        self.pipelining = {False: pipelining_plain, True: pipelining_tls}
        self.sessions = []
        self.lock = threading.Lock()
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(16)
        self.port = self.listener.getsockname()[1]
        self.stopping = False
        self.thread = threading.Thread(target=self._accept, daemon=True)

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self.stopping = True
        try:
            self.listener.close()
        except OSError:
            pass

    def _accept(self):
        while not self.stopping:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            session = FakeSession()
            with self.lock:
                self.sessions.append(session)
            threading.Thread(target=self._serve, args=(conn, session), daemon=True).start()

    def snapshot(self):
        with self.lock:
            return list(self.sessions)

    def wait_for(self, what, predicate, timeout=30):
        """Polls predicate(sessions) until it is true; AssertionError after `timeout`."""
        deadline = time.time() + timeout
        while True:
            sessions = self.snapshot()
            if predicate(sessions):
                return sessions
            if time.time() > deadline:
                raise AssertionError(f"fake server: timed out waiting for {what}; sessions: "
                                     + repr([(s.commands, s.tls_version, s.handshake_error) for s in sessions[:3]])
                                     + (f" and {len(sessions) - 3} more" if len(sessions) > 3 else ""))
            time.sleep(0.05)

    def messages(self):
        return [m for s in self.snapshot() for m in s.messages]

    def _serve(self, conn, session):
        conn.settimeout(30)
        state = {"conn": conn, "buf": b"", "tls": False}

        def send(data):
            state["conn"].sendall(data)

        def read_line():
            while b"\r\n" not in state["buf"]:
                chunk = state["conn"].recv(65536)
                if not chunk:
                    return None
                state["buf"] += chunk
            line, state["buf"] = state["buf"].split(b"\r\n", 1)
            return line.decode("utf-8", "replace")

        try:
            send(b"220 fake.test ESMTP scripted\r\n")
            while True:
                line = read_line()
                if line is None:
                    break
                tls = state["tls"]
                session.commands.append((tls, line, bool(state["buf"])))
                verb = line.split(" ", 1)[0].upper()
                if verb in ("EHLO", "HELO"):
                    ext = ["8BITMIME"]
                    if self.pipelining[tls]:
                        ext.append("PIPELINING")
                    if not tls and self.offer_starttls:
                        ext.append("STARTTLS")
                    lines = [f"fake.test hello {'tls' if tls else 'plain'}"] + (ext if verb == "EHLO" else [])
                    send("".join(f"250{'-' if i < len(lines) - 1 else ' '}{l}\r\n"
                                 for i, l in enumerate(lines)).encode())
                elif verb == "STARTTLS":
                    send(self.starttls_reply)
                    if not self.starttls_reply.startswith(b"220"):
                        continue
                    if self.after_220:
                        time.sleep(0.2)
                        send(self.after_220)
                    state["buf"] = b""  # the fake obeys RFC 3207 too
                    if self.tls_context is None:
                        if self.not_tls:
                            send(self.not_tls)
                        break
                    try:
                        state["conn"] = self.tls_context.wrap_socket(conn, server_side=True)
                    except (ssl.SSLError, OSError) as e:
                        session.handshake_error = str(e)
                        break
                    state["tls"] = True
                    session.tls_version = state["conn"].version()
                elif verb in ("MAIL", "RCPT", "RSET", "NOOP"):
                    send(b"250 2.0.0 OK\r\n")
                elif verb == "DATA":
                    send(b"354 go ahead\r\n")
                    while b"\r\n.\r\n" not in b"\r\n" + state["buf"]:
                        chunk = state["conn"].recv(65536)
                        if not chunk:
                            raise ConnectionError("closed in DATA")
                        state["buf"] += chunk
                    data, state["buf"] = (b"\r\n" + state["buf"]).split(b"\r\n.\r\n", 1)
                    session.messages.append((tls, data[2:]))
                    send(b"250 2.0.0 Ok: queued as FAKE%d\r\n" % len(session.messages))
                elif verb == "QUIT":
                    send(b"221 2.0.0 Bye\r\n")
                    break
                else:
                    send(b"502 5.5.1 not in the script\r\n")
        except (OSError, ssl.SSLError, ConnectionError) as e:
            session.handshake_error = session.handshake_error or f"session error: {e}"
        finally:
            session.finished = True
            try:
                state["conn"].close()
            except OSError:
                pass


# ---------------------------------------------------------------------------------------------
# sluice as the client: a relay with one send connector to the fake
# ---------------------------------------------------------------------------------------------


def start_relay(test, fake_port, tls, fallback=True, policy=None):
    """A started sluice that relays for 127.0.0.0/8 and sends everything for fake.test to
    127.0.0.1:`fake_port` with send connector tls = `tls`. Stopped (and its folder kept when the
    test failed) by a cleanup of `test`."""
    sluice = harness.Sluice(extra='relay_from = ["127.0.0.0/8"]')
    harness.append_config(sluice, harness.queue_table() + harness.smart_host_connector(
        "To fake", ["fake.test"], fake_port, tls, policy=policy, fallback_to_plaintext=fallback))
    test.addCleanup(stop_and_report, sluice)
    sluice.start()
    return sluice


def stop_and_report(sluice):
    status = sluice.stop()
    if status != 0:
        raise AssertionError(f"sluice exited with {status}: {sluice.server_log()}")


def submit(sluice, subject="relayed", rcpt=RECIPIENT):
    """Relays one message through `sluice`; returns its queue id."""
    with smtplib.SMTP("127.0.0.1", sluice.port, timeout=30) as s:
        s.ehlo("submitter.test")
        code, text = s.mail(SENDER)
        assert code == 250, text
        code, text = s.rcpt(rcpt)
        assert code == 250, text
        code, text = s.data(f"From: <{SENDER}>\r\nTo: <{rcpt}>\r\nSubject: {subject}\r\n\r\nbody of {subject}\r\n")
        assert code == 250, text
    m = re.match(r"2\.6\.0 ([0-9A-F]{16}) Queued mail for delivery$", text.decode())
    assert m, text
    return m.group(1)


def queue_show(sluice, queue_id):
    """`sluice queue show ID --json`, parsed; None once the message left the queue."""
    p = subprocess.run([harness.SLUICE, "queue", "show", queue_id, "--json", "--state-dir", sluice.state],
                       capture_output=True, text=True, timeout=20)
    return json.loads(p.stdout) if p.returncode == 0 else None


def wait_queue_empty(sluice, timeout=30):
    deadline = time.time() + timeout
    while harness.queued_envelopes(sluice):
        if time.time() > deadline:
            raise AssertionError(f"queue not empty: {harness.queued_envelopes(sluice)}\n{sluice.server_log()}")
        time.sleep(0.1)


def wait_deferred(sluice, queue_id, attempts=2, timeout=30):
    """The `queue show` JSON once the first recipient is deferred after `attempts` attempts."""
    deadline = time.time() + timeout
    while True:
        m = queue_show(sluice, queue_id)
        r = m["recipients"][0] if m else None
        if r and r["state"] == "deferred" and r["attempts"] >= attempts:
            return m
        if time.time() > deadline:
            raise AssertionError(f"{queue_id} not deferred after {attempts} attempts: {m}\n{sluice.server_log()}")
        time.sleep(0.1)


def send_log_lines(sluice):
    return [(r.event, r.data or r.context) for r in harness.send_log_records(sluice)]


# ---------------------------------------------------------------------------------------------
# Server side
# ---------------------------------------------------------------------------------------------


class ServerSide(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.sluice = harness.Sluice()
        cls.addClassCleanup(stop_and_report, cls.sluice)
        cls.sluice.start()

    def raw(self):
        r = Raw(self.sluice.port, timeout=5)
        self.addCleanup(r.close)
        self.assertEqual(r.reply()[0], 220)
        return r

    def inject(self, before, injected, expect_before=()):
        """Writes `before` + STARTTLS + `injected` in one write; reads the replies to the commands
        in `before` (their codes given in `expect_before`) and the 220, then does the handshake.
        Returns the raw connection (inside TLS) and the protocol log of the session once closed."""
        r = self.raw()
        if not before:
            self.assertEqual(r.cmd("EHLO x")[0], 250)
        r.send(before + b"STARTTLS\r\n" + injected)
        for code in expect_before:
            self.assertEqual(r.reply()[0], code)
        self.assertEqual(r.reply(), (220, "220 2.0.0 SMTP server ready"))
        # Nothing may follow the 220 in plaintext: a reply to the injected command would be here.
        self.assertEqual(r.buf, b"")
        r.sock.settimeout(0.3)
        try:
            extra = r.sock.recv(1, socket.MSG_PEEK)
        except socket.timeout:
            extra = b""
        self.assertEqual(extra, b"", "plaintext after the 220")
        r.sock.settimeout(5)
        r.sock = tls_client_context().wrap_socket(r.sock)
        return r

    def assert_fresh_session(self, r):
        """Inside TLS: the first reply answers our first command (nothing injected is answered), MAIL
        needs EHLO again, and after EHLO there is no transaction."""
        self.assertEqual(r.cmd("NOOP"), (250, "250 2.0.0 OK"))
        self.assertEqual(r.cmd("MAIL FROM:<c@d.example>"), (503, "503 5.5.1 Send EHLO or HELO first"))
        self.assertEqual(r.cmd("RCPT TO:<bob@sluice.test>"), (503, "503 5.5.1 Need MAIL before RCPT"))
        code, text = r.cmd("EHLO inside.example")
        self.assertEqual(code, 250)
        self.assertTrue(text.startswith("250-mx.sluice.test Hello [127.0.0.1]"), text)
        self.assertNotIn("STARTTLS", text)
        self.assertEqual(r.cmd("RCPT TO:<bob@sluice.test>"), (503, "503 5.5.1 Need MAIL before RCPT"))
        self.assertEqual(r.cmd("DATA"), (503, "503 5.5.1 Need MAIL before DATA"))
        self.assertEqual(r.cmd("MAIL FROM:<c@d.example>"), (250, "250 2.1.0 Sender <c@d.example> OK"))
        self.assertEqual(r.cmd("QUIT")[0], 221)

    def session_log(self, r, injected):
        session = wait_for_session(self.sluice, client_port=r.sock.getsockname()[1])
        lines = [(x.event, x.data or x.context) for x in session]
        discarded = ("*", f"Discarded {len(injected)} bytes sent after STARTTLS before the TLS handshake")
        self.assertIn(discarded, lines)
        i = lines.index(discarded)
        self.assertEqual(lines[i - 1], (">", "220 2.0.0 SMTP server ready"))
        self.assertTrue(lines[i + 1][1].startswith("TLS protocol SP_PROT_TLS1_3_SERVER negotiation succeeded"),
                        lines[i + 1])
        # The injected commands were never read as commands: inside TLS the first command read is
        # the client's first one there (NOOP), and no injected line was read at all.
        inside = [d for e, d in lines[i:] if e == "<"]
        self.assertEqual(inside[0], "NOOP", inside)
        ours = {"NOOP", "DATA", "QUIT", "EHLO y", "EHLO inside.example", "MAIL FROM:<c@d.example>",
                "RCPT TO:<bob@sluice.test>"}
        received = [d for e, d in lines if e == "<"]
        for command in injected.decode().split("\r\n"):
            if command and command not in ours:
                self.assertNotIn(command, received)
        return lines

    def test_mail_from_injected_after_starttls(self):
        injected = b"MAIL FROM:<a@b>\r\n"
        r = self.inject(b"", injected)
        self.assert_fresh_session(r)
        self.session_log(r, injected)
        self.assertEqual(harness.queued_envelopes(self.sluice), [])

    def test_whole_transaction_injected_after_starttls(self):
        injected = (b"MAIL FROM:<a@b.example>\r\nRCPT TO:<victim@sluice.test>\r\nDATA\r\n"
                    b"Subject: injected\r\n\r\nnever\r\n.\r\n")
        r = self.inject(b"EHLO x\r\n", injected, expect_before=(250,))
        self.assert_fresh_session(r)
        self.session_log(r, injected)
        self.assertEqual(self.sluice.maildir("victim", timeout=1), [])

    def test_rset_injected_after_starttls(self):
        injected = b"RSET\r\n"
        r = self.inject(b"", injected)
        self.assert_fresh_session(r)
        self.session_log(r, injected)

    def test_ehlo_injected_after_starttls(self):
        # A pipelined EHLO must not count as the EHLO of the TLS session.
        injected = b"EHLO injected.example\r\n"
        r = self.inject(b"", injected)
        self.assert_fresh_session(r)
        self.session_log(r, injected)

    def test_everything_in_one_write_before_ehlo_reply(self):
        # EHLO, STARTTLS and an injected MAIL in a single write: EHLO and STARTTLS are answered,
        # the MAIL is not.
        injected = b"MAIL FROM:<a@b>\r\nRCPT TO:<victim@sluice.test>\r\n"
        r = self.inject(b"EHLO x\r\n", injected, expect_before=(250,))
        self.assert_fresh_session(r)
        self.session_log(r, injected)

    def test_injected_transaction_on_started_transaction(self):
        # A transaction started in plaintext, then STARTTLS with DATA injected: inside TLS there is
        # no transaction to continue.
        r = self.raw()
        r.cmd("EHLO x")
        self.assertEqual(r.cmd("MAIL FROM:<a@b.example>")[0], 250)
        self.assertEqual(r.cmd("RCPT TO:<victim@sluice.test>")[0], 250)
        injected = b"DATA\r\nSubject: injected\r\n\r\nnever\r\n.\r\n"
        r.send(b"STARTTLS\r\n" + injected)
        self.assertEqual(r.reply()[0], 220)
        r.sock = tls_client_context().wrap_socket(r.sock)
        self.assertEqual(r.cmd("NOOP"), (250, "250 2.0.0 OK"))
        self.assertEqual(r.cmd("EHLO y")[0], 250)
        self.assertEqual(r.cmd("DATA"), (503, "503 5.5.1 Need MAIL before DATA"))
        self.assertEqual(r.cmd("QUIT")[0], 221)
        self.session_log(r, injected)
        self.assertEqual(self.sluice.maildir("victim", timeout=1), [])


# ---------------------------------------------------------------------------------------------
# Client side
# ---------------------------------------------------------------------------------------------


class ClientSide(unittest.TestCase):
    def fake(self, **kwargs):
        fake = FakeSmtpServer(**kwargs).start()
        self.addCleanup(fake.stop)
        return fake

    def assert_tls_delivery_ignoring(self, fake, sluice, injected):
        """One session: EHLO, STARTTLS in plaintext; inside TLS a new EHLO first, then the
        transaction; one message; the injected bytes discarded and never logged as a reply."""
        sessions = fake.wait_for("one delivered message", lambda ss: any(s.messages for s in ss))
        wait_queue_empty(sluice)
        self.assertEqual(len(sessions), 1, [s.commands for s in sessions])
        s = sessions[0]
        self.assertEqual(s.tls_version, "TLSv1.3")
        self.assertEqual(s.verbs(False), ["EHLO", "STARTTLS"])
        self.assertEqual(s.verbs(True)[0], "EHLO", s.commands)
        self.assertEqual(s.verbs(True), ["EHLO", "MAIL", "RCPT", "DATA", "QUIT"], s.commands)
        self.assertEqual(len(s.messages), 1)
        self.assertTrue(s.messages[0][0], "message sent outside TLS")
        self.assertIn(b"Subject: injected reply test\r\n", s.messages[0][1])

        lines = send_log_lines(sluice)
        discarded = ("*", f"Discarded {len(injected)} bytes received after the STARTTLS reply, before the TLS handshake")
        self.assertIn(discarded, lines)
        i = lines.index(discarded)
        self.assertEqual(lines[i - 1][0], "<")
        self.assertTrue(lines[i - 1][1].startswith("220 "), lines[i - 1])
        self.assertTrue(lines[i + 1][1].startswith("TLS protocol SP_PROT_TLS1_3_CLIENT negotiation succeeded"),
                        lines[i + 1])
        # What sluice read inside TLS came from the TLS session only.
        after = [d for e, d in lines[i:] if e in "<>"]
        self.assertEqual(after[0], "EHLO mx.sluice.test")
        self.assertTrue(after[1].startswith("250-fake.test hello tls"), after)
        for line in injected.decode().split("\r\n"):
            if line:
                self.assertNotIn(line, [d for e, d in lines if e == "<"])
        return s

    def test_plaintext_reply_after_220_is_discarded(self):
        injected = b"250 injected-plaintext\r\n"
        fake = self.fake(tls_context=server_tls_context(), starttls_reply=b"220 go ahead\r\n" + injected)
        sluice = start_relay(self, fake.port, "opportunistic")
        submit(sluice, "injected reply test")
        self.assert_tls_delivery_ignoring(fake, sluice, injected)

    def test_injected_ehlo_reply_with_pipelining_is_discarded(self):
        # The injected EHLO reply offers PIPELINING; the real one inside TLS does not. If sluice
        # believed the injected one it would pipeline MAIL, RCPT and DATA in one write.
        injected = b"250-fake.test injected\r\n250-PIPELINING\r\n250 8BITMIME\r\n"
        fake = self.fake(tls_context=server_tls_context(), starttls_reply=b"220 go ahead\r\n" + injected,
                         pipelining_plain=True, pipelining_tls=False)
        sluice = start_relay(self, fake.port, "required")
        submit(sluice, "injected reply test")
        s = self.assert_tls_delivery_ignoring(fake, sluice, injected)
        mail = [c for c in s.commands if c[0] and c[1].startswith("MAIL FROM:")]
        self.assertEqual(len(mail), 1)
        self.assertFalse(mail[0][2], "sluice pipelined MAIL although the TLS EHLO reply has no PIPELINING")

    def test_injected_bytes_in_a_later_segment_break_the_handshake(self):
        # Plaintext that arrives after the 220 was read is the start of the TLS stream as far as
        # sluice knows: the handshake fails, and with tls = required nothing is sent at all.
        fake = self.fake(tls_context=server_tls_context(), starttls_reply=b"220 go ahead\r\n",
                         after_220=b"250 injected-late\r\n")
        sluice = start_relay(self, fake.port, "required")
        queue_id = submit(sluice, "late injection")
        m = wait_deferred(sluice, queue_id, attempts=2)
        self.assertEqual(m["recipients"][0]["last_reply"], "421 4.4.2 Connection dropped due to SocketError")
        lines = send_log_lines(sluice)
        self.assertIn(("*", "TLS negotiation failed with error SocketError"), lines)
        self.assertNotIn(("<", "250 injected-late"), lines)
        self.assertFalse([s for s in fake.snapshot() if any(c[1].startswith("MAIL") for c in s.commands)])
        self.assertEqual(fake.messages(), [])


if __name__ == "__main__":
    unittest.main(verbosity=2)
