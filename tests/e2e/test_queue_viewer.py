"""End-to-end: `sluice queue`, the queue viewer. A state directory with spool files written by
hand (the on-disk format of docs/queue.md): with no gateway running, list and show read the spool
and say so, retry and remove refuse; with a stand-in gateway on the control socket, the CLI sends
the documented requests and renders the answers; usage errors exit 2."""
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402

DROPPED = "421 4.4.2 Connection dropped due to SocketError"
STARTTLS_FIRST = "451 5.7.3 Must issue a STARTTLS command first"
OLD_ID, NEW_ID, OTHER_ID, BROKEN_ID = "0005F1A2B3C40001", "0005F1A2B3C40002", "0005F1A2B3C40003", "0005F1A2B3C40004"


def run(*args, timeout=20):
    return subprocess.run([harness.SLUICE, *args], capture_output=True, text=True, timeout=timeout)


def columns(line):
    """A table line split on runs of two or more spaces."""
    return re.split(r" {2,}", line.strip())


class QueueDir:
    """A state directory whose spool holds:
    - OLD_ID: carol@partner.example deferred (451 STARTTLS, tried 10 min ago, next in 1 h) and
      bob@localhost delivered;
    - NEW_ID: dave@Partner.Example deferred (421 SocketError, tried 1 min ago, next in 30 min);
    - OTHER_ID: erin@other.example pending, never tried;
    - BROKEN_ID: an envelope that is not JSON."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="sluice-queue-")
        harness._made_dirs.append(self.dir)
        self.state = os.path.join(self.dir, "state")
        self.queue = os.path.join(self.state, "queue")
        now = time.time()
        self.now = now
        self.old_next = now + 3600
        self.new_next = now + 1800
        harness.write_spooled_message(self.queue, OLD_ID, [
            harness.spool_recipient("carol@partner.example", "deferred", 3, STARTTLS_FIRST, self.old_next, now - 600),
            harness.spool_recipient("bob@localhost", "delivered", 1, "250 2.0.0 delivered", None, now - 3000),
        ], received=now - 3600)
        harness.write_spooled_message(self.queue, NEW_ID, [
            harness.spool_recipient("dave@Partner.Example", "deferred", 2, DROPPED, self.new_next, now - 60),
        ], received=now - 1200, tls=None, mail_from="")
        harness.write_spooled_message(self.queue, OTHER_ID, [
            harness.spool_recipient("erin@other.example"),
        ], received=now - 30)
        with open(os.path.join(self.queue, BROKEN_ID + ".json"), "w") as f:
            f.write("{ not json")
        with open(os.path.join(self.queue, BROKEN_ID + ".eml"), "w") as f:
            f.write("x")
        self.socket_path = os.path.join(self.state, "control.sock")

    def snapshot(self):
        """Every spool file's name, size and mtime: reading must change none of them."""
        out = {}
        for name in sorted(os.listdir(self.queue)):
            st = os.stat(os.path.join(self.queue, name))
            out[name] = (st.st_size, st.st_mtime_ns)
        return out


class FakeGateway:
    """Answers on the control socket as the gateway does: one JSON line in, one out, then close.
    `answers` maps a command name to the answer; every request is recorded."""

    def __init__(self, path, answers):
        self.requests = []
        self.answers = answers
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(path)
        self.sock.listen(4)
        self.path = path
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                data = b""
                while not data.endswith(b"\n"):
                    chunk = conn.recv(65536)
                    if not chunk:
                        break
                    data += chunk
                request = json.loads(data)
                self.requests.append(request)
                conn.sendall(json.dumps(self.answers[request["command"]]).encode() + b"\n")

    def close(self):
        self.sock.close()
        os.unlink(self.path)


class WithoutGateway(unittest.TestCase):
    CTEST_SECONDS = 12  # its rough duration: ctest starts the longest first

    @classmethod
    def setUpClass(cls):
        cls.q = QueueDir()

    def fallback_line(self):
        return f"sluice queue: no gateway is running on {self.q.state}; showing the spool on disk"

    def test_list_groups_by_next_hop(self):
        before = self.q.snapshot()
        p = run("queue", "list", "--state-dir", self.q.state)
        self.assertEqual(p.returncode, 0, p.stderr)
        err = p.stderr.splitlines()
        self.assertEqual(err[0], self.fallback_line())
        self.assertIn(f"{os.path.join(self.q.queue, BROKEN_ID)}.json cannot be read (malformed or another format); "
                      "skipped", p.stderr)
        lines = p.stdout.splitlines()
        self.assertEqual(len(lines), 3, p.stdout)
        self.assertEqual(columns(lines[0]), ["NEXT HOP", "STATUS", "MESSAGES", "NEXT RETRY", "LAST ERROR"])
        self.assertEqual(columns(lines[1]), ["other.example", "Ready", "1", "-", "-"])
        hop, status, count, retry, error = columns(lines[2])
        self.assertEqual((hop, status, count), ("partner.example", "Retry", "2"))
        self.assertRegex(retry, r"^in (29m \d+s|30m)$")  # the earlier of the two next attempts
        self.assertEqual(error, DROPPED)  # the reply of the latest attempt, whole
        # The columns line up: every row's STATUS starts where the header's does.
        at = lines[0].index("STATUS")
        self.assertTrue(all(l[at:at + 5] in ("STATU", "Ready", "Retry") for l in lines), p.stdout)
        self.assertEqual(self.q.snapshot(), before)
        self.assertFalse(os.path.exists(self.q.socket_path))

    def test_list_json(self):
        p = run("queue", "list", "--json", "--state-dir", self.q.state)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stderr.splitlines()[0], self.fallback_line())
        out = json.loads(p.stdout)
        self.assertEqual(out["source"], "spool")
        self.assertRegex(out["now"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")
        self.assertEqual(out["hops"], [
            {"next_hop": "other.example", "status": "Ready", "messages": 1, "last_error": "", "next_retry": None,
             "oldest": harness.iso_utc(self.q.now - 30), "last_error_at": None},
            {"next_hop": "partner.example", "status": "Retry", "messages": 2, "last_error": DROPPED,
             "next_retry": harness.iso_utc(self.q.new_next), "oldest": harness.iso_utc(self.q.now - 3600),
             "last_error_at": harness.iso_utc(self.q.now - 60)},
        ])

    def test_list_filters(self):
        def hops(*args):
            p = run("queue", "list", "--json", "--state-dir", self.q.state, *args)
            self.assertEqual(p.returncode, 0, p.stderr)
            return [h["next_hop"] for h in json.loads(p.stdout)["hops"]]

        self.assertEqual(hops("--domain", "PARTNER.example"), ["partner.example"])
        self.assertEqual(hops("--domain", "nowhere.example"), [])
        self.assertEqual(hops("--status", "retry"), ["partner.example"])
        self.assertEqual(hops("--status", "Ready"), ["other.example"])
        self.assertEqual(hops("--status", "active"), [])
        p = run("queue", "list", "--state-dir", self.q.state, "--domain", "nowhere.example")
        self.assertEqual((p.returncode, p.stdout), (0, "No queued messages match.\n"))
        p = run("queue", "list", "--state-dir", self.q.state, "--status", "stuck")
        self.assertEqual(p.returncode, 2)
        self.assertIn('--status "stuck" is not a status: use Active, Ready or Retry', p.stderr)

    def test_show(self):
        p = run("queue", "show", NEW_ID, "--state-dir", self.q.state)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stderr.splitlines()[0], self.fallback_line())
        self.assertIn(f"Message {NEW_ID}\n", p.stdout)
        self.assertIn("  From:         <> (null sender)\n", p.stdout)
        self.assertIn("  TLS:          none (plaintext)\n", p.stdout)
        self.assertIn("  <dave@Partner.Example>\n    State:      deferred, 2 attempts\n"
                      "    Next hop:   partner.example\n", p.stdout)
        self.assertIn(f"    Last reply: {DROPPED}\n", p.stdout)
        self.assertRegex(p.stdout, r"    Next try:   " + re.escape(harness.iso_utc(self.q.new_next))
                         + r" \(in (29m \d+s|30m)\)\n")

    def test_show_json(self):
        p = run("queue", "show", OLD_ID, "--json", "--state-dir", self.q.state)
        self.assertEqual(p.returncode, 0, p.stderr)
        m = json.loads(p.stdout)
        self.assertEqual(m["id"], OLD_ID)
        self.assertEqual(m["from"], "alice@example.org")
        self.assertEqual(m["connector"], "Default")
        self.assertEqual(m["client"], {"address": "192.0.2.1", "helo": "mx.example.org"})
        self.assertEqual(m["tls"], {"version": "TLS1_3", "cipher": "TLS_AES_256_GCM_SHA384"})
        self.assertEqual(m["size"], len(b"Subject: test\r\n\r\nHello\r\n"))
        self.assertEqual([(r["address"], r["state"], r["attempts"], r["next_hop"], r["last_reply"], r["next_attempt"])
                          for r in m["recipients"]],
                         [("carol@partner.example", "deferred", 3, "partner.example", STARTTLS_FIRST,
                           harness.iso_utc(self.q.old_next)),
                          ("bob@localhost", "delivered", 1, "localhost", "250 2.0.0 delivered", None)])

    def test_show_missing_unreadable_and_bad_ids(self):
        p = run("queue", "show", "0005F1A2B3C4FFFF", "--state-dir", self.q.state)
        self.assertEqual(p.returncode, 1)
        self.assertEqual(p.stderr.splitlines()[-1], "sluice queue: no message 0005F1A2B3C4FFFF in the queue")
        p = run("queue", "show", BROKEN_ID, "--state-dir", self.q.state)
        self.assertEqual(p.returncode, 1)
        self.assertIn("cannot be read", p.stderr)
        p = run("queue", "show", "../../etc/passwd", "--state-dir", self.q.state)
        self.assertEqual(p.returncode, 2)
        self.assertIn('"../../etc/passwd" is not a queue id', p.stderr)
        self.assertEqual(p.stdout, "")

    def test_retry_and_remove_need_the_gateway(self):
        before = self.q.snapshot()
        for args in (["retry", OLD_ID], ["retry", "--all"], ["retry", "--domain", "partner.example"],
                     ["remove", OLD_ID], ["remove", OLD_ID, "--bounce"]):
            p = run("queue", *args, "--state-dir", self.q.state)
            self.assertEqual(p.returncode, 1, args)
            self.assertEqual(p.stdout, "")
            self.assertEqual(p.stderr, f"sluice queue: no gateway is running on {self.q.state}; {args[0]} needs the "
                                       "running gateway (start it with 'sluice serve')\n")
        self.assertEqual(self.q.snapshot(), before)

    def test_usage_errors(self):
        for args in ([], ["retry"], ["retry", OLD_ID, "--all"], ["show"], ["remove"], ["frobnicate"],
                     ["list", "--bogus"]):
            p = run("queue", *args, "--state-dir", self.q.state)
            self.assertEqual(p.returncode, 2, (args, p.stderr))
            self.assertTrue(p.stderr.startswith("sluice queue: "), p.stderr)
            self.assertEqual(p.stdout, "")

    def test_stale_socket_is_no_gateway(self):
        q = QueueDir()
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.bind(q.socket_path)
        s.close()  # the socket file stays, nobody listens: what a crashed gateway leaves
        p = run("queue", "list", "--state-dir", q.state)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stderr.splitlines()[0],
                         f"sluice queue: no gateway is running on {q.state}; showing the spool on disk")
        self.assertTrue(os.path.exists(q.socket_path))  # only the gateway cleans it up

    def test_routed_next_hop_groups_recipients(self):
        q = QueueDir()
        now = time.time()
        harness.write_spooled_message(q.queue, "0005F1A2B3C40009", [
            harness.spool_recipient("zoe@partner.example", "deferred", 1, DROPPED, now + 600, now - 5,
                                    next_hop="[10.0.0.5]:25"),
        ], received=now - 10)
        p = run("queue", "list", "--json", "--state-dir", q.state, "--domain", "partner.example")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual([(h["next_hop"], h["messages"], h["last_error"]) for h in json.loads(p.stdout)["hops"]],
                         [("[10.0.0.5]:25", 1, DROPPED), ("partner.example", 2, DROPPED)])

    def test_state_dir_from_config_and_precedence(self):
        config = os.path.join(self.q.dir, "sluice.toml")
        with open(config, "w") as f:
            f.write(f'state_dir = "{self.q.state}"\n')
        p = run("queue", "list", "--json", "--config", config)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(len(json.loads(p.stdout)["hops"]), 2)
        # --state-dir wins over the configuration
        empty = os.path.join(self.q.dir, "empty-state")
        p = run("queue", "--config", config, "--state-dir", empty, "list")
        self.assertEqual(p.returncode, 1)
        self.assertIn(f"there is no queue at {empty}/queue", p.stderr)
        self.assertFalse(os.path.exists(empty))  # reading never creates the state directory
        bad = os.path.join(self.q.dir, "bad.toml")
        with open(bad, "w") as f:
            f.write("state_dir = [\n")
        p = run("queue", "list", "--config", bad)
        self.assertEqual(p.returncode, 2)
        self.assertIn("bad.toml", p.stderr)

    def test_help(self):
        p = run("queue", "--help")
        self.assertEqual(p.returncode, 0, p.stderr)
        for text in ("list", "show", "retry", "remove", "--state-dir", "--config", "control.sock",
                     "Ready", "Retry", "Active", "Exit status"):
            self.assertIn(text, p.stdout)
        top = run("--help")
        self.assertIn("queue", top.stdout)


class WithGateway(unittest.TestCase):
    """A stand-in gateway on the control socket: checks the requests the CLI sends (the contract the
    real gateway implements) and that its answers, not the spool, are shown."""

    def setUp(self):
        self.q = QueueDir()
        self.message = {
            "id": NEW_ID, "from": "alice@example.org", "received": "2024-05-01T12:34:56Z", "size": 1234,
            "body_type": "8BITMIME", "smtputf8": False, "connector": "Default",
            "client": {"address": "192.0.2.1", "helo": "mx.example.org"}, "tls": None,
            "recipients": [{"address": "carol@partner.example", "state": "deferred", "attempts": 2,
                            "next_hop": "[10.0.0.5]:25", "last_reply": DROPPED,
                            "next_attempt": "2024-05-01T12:40:00Z", "last_attempt": "2024-05-01T12:35:40Z"}]}
        self.gateway = FakeGateway(self.q.socket_path, {
            "list": {"ok": True, "now": "2024-05-01T12:35:50Z", "hops": [
                {"next_hop": "[10.0.0.5]:25", "status": "Retry", "messages": 7, "last_error": DROPPED,
                 "next_retry": "2024-05-01T12:40:00Z"}]},
            "show": {"ok": True, "message": self.message},
            # What `retry` and `remove` count before they change more than one message.
            "messages": {"ok": True, "now": "2024-05-01T12:35:50Z", "total": 3, "more": True, "messages": [
                {"id": OLD_ID, "received": "2024-05-01T12:30:00Z", "size": 10, "from": "a@example.org",
                 "status": "Retry", "next_retry": "2024-05-01T12:40:00Z", "next_hops": ["partner.example"],
                 "recipients": []}]},
            "retry": {"ok": True, "retried": 3},
            "remove": {"ok": False, "error": f"no message {OLD_ID} in the queue"},
        })

    def tearDown(self):
        self.gateway.close()

    def test_list_shows_the_gateway_view(self):
        p = run("queue", "list", "--state-dir", self.q.state, "--domain", "Partner.example", "--status", "retry",
                "--sender", "*@Example.org", "--older-than", "1d12h")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stderr, "")
        # The filters go to the gateway, checked and in canonical form; it answers with what matched.
        self.assertEqual(self.gateway.requests,
                         [{"command": "list", "filter": {"domain": "partner.example", "status": "Retry",
                                                         "sender": "*@Example.org", "older_than": 129600}}])
        self.assertEqual(p.stdout,
                         "NEXT HOP       STATUS  MESSAGES  NEXT RETRY  LAST ERROR\n"
                         f"[10.0.0.5]:25  Retry          7  in 4m 10s   {DROPPED}\n")
        p = run("queue", "list", "--json", "--state-dir", self.q.state)
        out = json.loads(p.stdout)
        self.assertEqual(out["source"], "gateway")
        self.assertEqual(out["now"], "2024-05-01T12:35:50Z")
        self.assertEqual(out["hops"][0]["messages"], 7)
        self.assertEqual(self.gateway.requests[-1], {"command": "list", "filter": {}})

    def test_show(self):
        p = run("queue", "show", NEW_ID, "--state-dir", self.q.state)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(self.gateway.requests, [{"command": "show", "id": NEW_ID}])
        self.assertIn("    Next hop:   [10.0.0.5]:25\n", p.stdout)
        self.assertIn(f"    Last reply: {DROPPED}\n", p.stdout)
        p = run("queue", "show", NEW_ID, "--json", "--state-dir", self.q.state)
        self.assertEqual(json.loads(p.stdout), self.message)

    def test_retry_requests(self):
        p = run("queue", "retry", OLD_ID, "--state-dir", self.q.state)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(self.gateway.requests, [{"command": "retry", "id": OLD_ID}])  # one message: no count
        for args, sent in ((["--domain", "partner.example"], {"domain": "partner.example"}), (["--all"], {})):
            self.gateway.requests.clear()
            p = run("queue", "retry", *args, "--yes", "--state-dir", self.q.state)
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertEqual(p.stdout, "3 messages scheduled for immediate retry.\n")
            # First the count, then the change, bounded by the count's time: mail accepted after
            # it is not touched.
            self.assertEqual(self.gateway.requests, [
                {"command": "messages", "filter": sent, "limit": 5},
                {"command": "retry", "filter": {**sent, "received_before": "2024-05-01T12:35:50Z"}}])

    def test_more_than_one_match_needs_a_confirmation(self):
        for args in (["retry", "--all"], ["remove", "--sender", "a@example.org"]):
            self.gateway.requests.clear()
            p = subprocess.run([harness.SLUICE, "queue", *args, "--state-dir", self.q.state], capture_output=True,
                               text=True, timeout=20, stdin=subprocess.DEVNULL)
            self.assertEqual(p.returncode, 2, p.stderr)
            self.assertEqual(p.stderr, f"sluice queue: {args[0]} of 3 matching messages needs a confirmation: "
                                       "run it on a terminal, or add --yes\n")
            self.assertEqual([r["command"] for r in self.gateway.requests], ["messages"])  # nothing changed

    def test_remove_error_is_reported(self):
        p = run("queue", "remove", OLD_ID, "--bounce", "--state-dir", self.q.state)
        self.assertEqual(p.returncode, 1)
        self.assertEqual(self.gateway.requests, [{"command": "remove", "id": OLD_ID, "bounce": True}])
        self.assertEqual(p.stderr, f"sluice queue: no message {OLD_ID} in the queue\n")

    def test_remove_ok(self):
        self.gateway.answers["remove"] = {"ok": True, "removed": 1}
        p = run("queue", "remove", OLD_ID, "--state-dir", self.q.state)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(self.gateway.requests, [{"command": "remove", "id": OLD_ID, "bounce": False}])
        self.assertEqual(p.stdout, f"Removed {OLD_ID} without a non-delivery report.\n")

    def test_malformed_answer_is_an_error_not_a_crash(self):
        self.gateway.answers["show"] = {"ok": True, "message": {"id": NEW_ID}}
        p = run("queue", "show", NEW_ID, "--state-dir", self.q.state)
        self.assertEqual(p.returncode, 1)
        self.assertEqual(p.stderr, 'sluice queue: unexpected answer from the gateway: no valid "message"\n')


if __name__ == "__main__":
    unittest.main()
