"""End-to-end: the queue viewer as an administrator uses it, against a real gateway.

A gateway whose spool holds three deferred messages (written before it starts; their next hops,
two smart hosts, refuse connections): `sluice queue list --messages` with each filter, the rule
that ties a status to its next retry, `retry` and `remove` by filter with and without a
confirmation (on a pseudo-terminal, and refused without one), remove with and without a bounce,
and a user who may not read the control socket or the spool (run as `nobody`) getting an error
instead of an empty queue (docs/queue.md, "The queue viewer")."""
import datetime
import json
import os
import pty
import pwd
import re
import shutil
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402

DROPPED = "421 4.4.2 Connection dropped due to SocketError"
# Oldest first: BOUNCE_ID (2 days), OLD_ID (3 h), NEW_ID (10 min).
OLD_ID, NEW_ID, BOUNCE_ID = "0005F1A2B3C40011", "0005F1A2B3C40012", "0005F1A2B3C40013"


def queue(sluice, *args, user=None, stdin=subprocess.DEVNULL):
    command = [harness.SLUICE, "queue", *args, "--state-dir", sluice.state]
    if user:
        entry = pwd.getpwnam(user)
        command = ["setpriv", f"--reuid={entry.pw_uid}", f"--regid={entry.pw_gid}", "--clear-groups", *command]
    return subprocess.run(command, capture_output=True, text=True, timeout=30, stdin=stdin)


def parse_time(text):
    return datetime.datetime.strptime(text[:19], "%Y-%m-%dT%H:%M:%S").replace(tzinfo=datetime.timezone.utc)


class Gateway(unittest.TestCase):
    def setUp(self):
        self.partner_port, self.other_port = harness.free_port(), harness.free_port()  # nothing listens there
        self.sluice = harness.Sluice(connectors=[{"name": "Default", "starttls": False}],
                                     local_domains=("sluice.test", "example.org"))
        harness.append_config(self.sluice, harness.queue_table(retry_min="1h", retry_max="1h", hop_backoff_max="1h",
                                                                  lifetime="120h")
                              + harness.smart_host_connector("Partner", ["partner.example"], self.partner_port)
                              + harness.smart_host_connector("Other", ["other.example"], self.other_port))
        self.partner_hop = f"[127.0.0.1]:{self.partner_port}"
        self.other_hop = f"[127.0.0.1]:{self.other_port}"
        self.queue_dir = os.path.join(self.sluice.state, "queue")
        now = time.time()
        self.now = now
        harness.write_spooled_message(self.queue_dir, OLD_ID, [
            harness.spool_recipient("carol@partner.example", "deferred", 3, DROPPED, now + 3600, now - 600),
        ], received=now - 3 * 3600, mail_from="alice@example.org")
        harness.write_spooled_message(self.queue_dir, NEW_ID, [
            harness.spool_recipient("dave@partner.example", "deferred", 1, DROPPED, now + 1800, now - 60),
            harness.spool_recipient("frank@other.example", "deferred", 1, DROPPED, now + 1500, now - 60),
        ], received=now - 600, mail_from="bob@example.org")
        harness.write_spooled_message(self.queue_dir, BOUNCE_ID, [
            harness.spool_recipient("erin@other.example", "deferred", 9, DROPPED, now + 900, now - 30),
        ], received=now - 2 * 86400, mail_from="")
        self.sluice.start()
        self.addCleanup(self.sluice.stop)

    def messages(self, *args):
        p = queue(self.sluice, "list", "--messages", "--json", *args)
        self.assertEqual(p.returncode, 0, p.stderr)
        return json.loads(p.stdout)

    def ids(self, *args):
        return [m["id"] for m in self.messages(*args)["messages"]]

    def attempts(self, queue_id):
        with open(os.path.join(self.queue_dir, queue_id + ".json")) as f:
            return [r["attempts"] for r in json.load(f)["recipients"]]

    def assert_status_rule(self, rows, now):
        """Ready and Active rows have no next retry; a Retry row has one, after `now`."""
        for row in rows:
            if row["status"] == "Retry":
                self.assertIsNotNone(row["next_retry"], row)
                self.assertGreater(parse_time(row["next_retry"]), parse_time(now) - datetime.timedelta(seconds=1))
            else:
                self.assertIn(row["status"], ("Ready", "Active"), row)
                self.assertIsNone(row["next_retry"], row)


class ListMessages(Gateway):
    def test_messages_rows_json(self):
        out = self.messages()
        self.assertEqual(out["source"], "gateway")
        self.assertEqual(out["total"], 3)
        self.assertEqual([m["id"] for m in out["messages"]], [BOUNCE_ID, OLD_ID, NEW_ID])  # oldest first
        new = out["messages"][2]
        self.assertEqual((new["from"], new["status"], new["size"]), ("bob@example.org", "Retry", 24))
        self.assertEqual(new["next_hops"], sorted([self.partner_hop, self.other_hop]))
        self.assertEqual(new["next_retry"], harness.iso_utc(self.now + 1500))  # the earlier of its two
        self.assertEqual([(r["address"], r["status"], r["next_hop"], r["attempts"], r["last_error"], r["next_retry"])
                          for r in new["recipients"]],
                         [("dave@partner.example", "Retry", self.partner_hop, 1, DROPPED,
                           harness.iso_utc(self.now + 1800)),
                          ("frank@other.example", "Retry", self.other_hop, 1, DROPPED,
                           harness.iso_utc(self.now + 1500))])
        self.assertEqual(out["messages"][0]["from"], "")

    def test_each_filter(self):
        self.assertEqual(self.ids("--sender", "*@EXAMPLE.org"), [OLD_ID, NEW_ID])
        self.assertEqual(self.ids("--sender", "<>"), [BOUNCE_ID])
        self.assertEqual(self.ids("--sender", "alice@example.org"), [OLD_ID])
        self.assertEqual(self.ids("--recipient", "dave@*"), [NEW_ID])
        self.assertEqual(self.ids("--hop", self.partner_hop), [OLD_ID, NEW_ID])
        self.assertEqual(self.ids("--domain", "other.example"), [BOUNCE_ID, NEW_ID])
        self.assertEqual(self.ids("--older-than", "1h"), [BOUNCE_ID, OLD_ID])
        self.assertEqual(self.ids("--older-than", "1d"), [BOUNCE_ID])
        self.assertEqual(self.ids("--older-than", "3d"), [])
        self.assertEqual(self.ids("--status", "retry"), [BOUNCE_ID, OLD_ID, NEW_ID])
        self.assertEqual(self.ids("--status", "Ready"), [])
        self.assertEqual(self.ids("--sender", "*@example.org", "--recipient", "frank@*"), [NEW_ID])
        # A recipient filter makes the row about the recipients it selects.
        new = self.messages("--hop", self.partner_hop)["messages"][1]
        self.assertEqual(new["next_retry"], harness.iso_utc(self.now + 1800))
        # The same filters on the next-hop view.
        p = queue(self.sluice, "list", "--json", "--sender", "<>")
        self.assertEqual([(h["next_hop"], h["messages"]) for h in json.loads(p.stdout)["hops"]], [(self.other_hop, 1)])

    def test_text_table_limit_and_usage_errors(self):
        p = queue(self.sluice, "list", "--messages", "--limit", "2")
        self.assertEqual(p.returncode, 0, p.stderr)
        lines = p.stdout.splitlines()
        self.assertEqual(re.split(r" {2,}", lines[0]), ["ID", "STATUS", "AGE", "SIZE", "FROM", "NEXT HOP", "NEXT RETRY"])
        bounce = re.split(r" {2,}", lines[1].strip())
        self.assertEqual(bounce[:2] + bounce[3:6], [BOUNCE_ID, "Retry", "24", "<>", self.other_hop])
        self.assertEqual(bounce[2], "2d")
        self.assertRegex(bounce[6], r"^in 1[45]m")
        self.assertTrue(lines[2].startswith("    erin@other.example  "), lines[2])
        self.assertEqual(re.split(r" {2,}", lines[2].strip())[1:3], ["Retry", self.other_hop])
        self.assertTrue(lines[2].endswith(DROPPED))
        self.assertEqual(lines[3].split()[0], OLD_ID)
        self.assertEqual(lines[-1], "2 of 3 messages shown, oldest first; --limit N shows more, --limit 0 all.")
        p = queue(self.sluice, "list", "--messages", "--limit", "0")
        self.assertEqual([l.split()[0] for l in p.stdout.splitlines() if l.startswith("0005")],
                         [BOUNCE_ID, OLD_ID, NEW_ID])
        p = queue(self.sluice, "list", "--messages", "--sender", "nobody@nowhere.example")
        self.assertEqual((p.returncode, p.stdout), (0, "No queued messages match.\n"))
        for args, error in ((["--older-than", "5x"], '--older-than "5x" is not a duration'),
                            (["--status", "suspended"], '--status "suspended" is not a status: use Active, Ready or Retry'),
                            (["--limit", "5"], "--limit goes with --messages")):
            p = queue(self.sluice, "list", *args)
            self.assertEqual(p.returncode, 2, args)
            self.assertIn(error, p.stderr)
            self.assertEqual(p.stdout, "")

    def test_status_and_next_retry_agree(self):
        out = json.loads(queue(self.sluice, "list", "--json").stdout)
        self.assertEqual({h["status"] for h in out["hops"]}, {"Retry"})
        self.assert_status_rule(out["hops"], out["now"])
        # Retried: due now (Ready or Active), then the connection is refused and the hop backs
        # off: Retry until the end of the backoff. The rule holds at every step.
        p = queue(self.sluice, "retry", OLD_ID)
        self.assertEqual((p.returncode, p.stdout), (0, "1 message scheduled for immediate retry.\n"))
        seen = set()

        def settled():
            hops = json.loads(queue(self.sluice, "list", "--json").stdout)
            rows = json.loads(queue(self.sluice, "list", "--messages", "--json").stdout)
            self.assert_status_rule(hops["hops"], hops["now"])
            self.assert_status_rule(rows["messages"], rows["now"])
            for m in rows["messages"]:
                self.assert_status_rule(m["recipients"], rows["now"])
            partner = [h for h in hops["hops"] if h["next_hop"] == self.partner_hop][0]
            seen.add(partner["status"])
            return self.attempts(OLD_ID) == [4] and partner["status"] == "Retry"

        self.assertTrue(harness.wait_until(settled, timeout=20), self.sluice.server_log())
        # The hop's backoff now holds back NEW_ID's partner recipient too: its next retry is the
        # end of the backoff (retry_min 1 h), not its own time (in 30 min).
        new = self.messages("--hop", self.partner_hop, "--recipient", "dave@*")["messages"][0]
        self.assertGreater(parse_time(new["next_retry"]), parse_time(harness.iso_utc(self.now + 2400)))


class RetryAndRemove(Gateway):
    def test_retry_by_filter_needs_yes_without_a_terminal(self):
        p = queue(self.sluice, "retry", "--sender", "*@example.org")
        self.assertEqual(p.returncode, 2)
        self.assertEqual(p.stderr, "sluice queue: retry of 2 matching messages needs a confirmation: "
                                   "run it on a terminal, or add --yes\n")
        self.assertEqual(p.stdout, "")
        p = queue(self.sluice, "retry", "--sender", "*@example.org", "--yes")
        self.assertEqual((p.returncode, p.stdout), (0, "2 messages scheduled for immediate retry.\n"), p.stderr)
        self.assertTrue(harness.wait_until(lambda: self.attempts(OLD_ID) == [4] and self.attempts(NEW_ID) == [2, 2]),
                        self.sluice.server_log())
        self.assertEqual(self.attempts(BOUNCE_ID), [9])  # not selected: not tried
        # One match needs no confirmation.
        p = queue(self.sluice, "retry", "--sender", "<>")
        self.assertEqual((p.returncode, p.stdout), (0, "1 message scheduled for immediate retry.\n"), p.stderr)
        p = queue(self.sluice, "retry", "--sender", "nobody@nowhere.example")
        self.assertEqual((p.returncode, p.stdout), (0, "No queued messages match; nothing to retry.\n"))

    def run_on_terminal(self, answer, *args):
        """`sluice queue ARGS` with a pseudo-terminal as stdin, answering `answer` to its question."""
        master, slave = pty.openpty()
        try:
            os.write(master, answer.encode() + b"\n")
            return queue(self.sluice, *args, stdin=slave)
        finally:
            os.close(slave)
            os.close(master)

    def test_remove_asks_on_a_terminal(self):
        p = self.run_on_terminal("n", "remove", "--hop", self.partner_hop)
        self.assertEqual(p.returncode, 1)
        self.assertEqual(p.stderr, f"Remove 2 messages without a non-delivery report ({OLD_ID}, {NEW_ID})? [y/N] "
                                   "sluice queue: nothing done\n")
        self.assertEqual(self.ids(), [BOUNCE_ID, OLD_ID, NEW_ID])
        p = self.run_on_terminal("y", "remove", "--hop", self.partner_hop)
        self.assertEqual((p.returncode, p.stdout), (0, "Removed 2 messages without a non-delivery report.\n"),
                         p.stderr)
        self.assertEqual(self.ids(), [BOUNCE_ID])
        self.assertTrue(harness.wait_until(lambda: not os.path.exists(os.path.join(self.queue_dir, OLD_ID + ".json"))))
        # Without --bounce nobody hears of it: the senders' mailboxes (example.org is local) stay empty.
        self.assertEqual(harness.delivered_files(self.sluice), [])

    def test_remove_with_and_without_bounce(self):
        p = queue(self.sluice, "remove", OLD_ID, "--no-bounce")
        self.assertEqual((p.returncode, p.stdout), (0, f"Removed {OLD_ID} without a non-delivery report.\n"), p.stderr)
        p = queue(self.sluice, "remove", "--recipient", "dave@partner.example", "--bounce")
        self.assertEqual((p.returncode, p.stdout),
                         (0, "Removed 1 message; a non-delivery report goes to the sender.\n"), p.stderr)
        bounce = self.sluice.maildir("bob", timeout=10)[0].decode()
        self.assertIn("Subject: Undeliverable: test", bounce)
        self.assertIn("Final-Recipient: rfc822; dave@partner.example", bounce)
        self.assertIn("Final-Recipient: rfc822; frank@other.example", bounce)
        self.assertFalse(os.path.exists(os.path.join(self.sluice.state, "maildir", "alice")))
        self.assertEqual(self.ids(), [BOUNCE_ID])

    def test_all_is_confirmed_too_and_bounded_by_the_count(self):
        p = queue(self.sluice, "remove", "--all")
        self.assertEqual(p.returncode, 2)
        self.assertIn("remove of 3 matching messages needs a confirmation", p.stderr)
        p = queue(self.sluice, "remove", "--all", "--yes", "--json")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(json.loads(p.stdout), {"ok": True, "removed": 3})
        self.assertEqual(self.ids(), [])
        for args in (["retry"], ["remove"], ["remove", OLD_ID, "--all"], ["retry", "--all", "--hop", "x"]):
            p = queue(self.sluice, *args)
            self.assertEqual(p.returncode, 2, args)
            self.assertIn("give exactly one of ID, a filter", p.stderr)


@unittest.skipUnless(os.geteuid() == 0 and shutil.which("setpriv"), "needs root and setpriv to run as nobody")
class NotAllowed(Gateway):
    """The gateway runs as root: its socket is 0600 and its spool 0750, both root's."""

    def assert_refused(self, p, path):
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        self.assertEqual(p.stdout, "")
        self.assertIn(path, p.stderr)
        self.assertIn("user nobody may not", p.stderr)
        self.assertNotIn("No queued messages", p.stdout + p.stderr)

    def test_socket_and_spool(self):
        socket_path = os.path.join(self.sluice.state, "control.sock")
        for args in (["list"], ["list", "--messages"], ["show", OLD_ID], ["retry", "--all", "--yes"]):
            p = queue(self.sluice, *args, user="nobody")
            self.assert_refused(p, socket_path)
            self.assertIn(f"permission denied on the control socket {socket_path}", p.stderr)
        self.assertEqual(len(self.ids()), 3)  # root still sees them
        self.sluice.stop()
        # No gateway: the spool on disk, which nobody may not read either.
        os.chmod(self.sluice.state, 0o755)
        os.chmod(self.queue_dir, 0o700)
        for args in (["list"], ["list", "--messages", "--json"], ["show", OLD_ID]):
            p = queue(self.sluice, *args, user="nobody")
            self.assert_refused(p, self.queue_dir)
            self.assertIn(f"cannot read the queue at {self.queue_dir}: {self.queue_dir} is mode 0700, owner root",
                          p.stderr)
        # A spool directory it may read whose envelopes it may not: still an error, not an empty list.
        os.chmod(self.queue_dir, 0o755)
        for name in os.listdir(self.queue_dir):
            os.chmod(os.path.join(self.queue_dir, name), 0o600)
        p = queue(self.sluice, "list", user="nobody")
        self.assert_refused(p, self.queue_dir)


if __name__ == "__main__":
    unittest.main()
