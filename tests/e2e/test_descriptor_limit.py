"""End-to-end: a gateway that runs short of file descriptors (docs/security.md, promise 13). Before
this, a process at its open-file limit gave clients no banner at all while stderr repeated
`accept failed: Too many open files` for every try. Now sluice raises its soft limit to the hard
limit, warns when that leaves room for fewer sessions than max_connections, answers the
connections beyond the room `421 4.3.2`, and serves normally again once they are gone.

sluice starts with a soft limit of 64 and a hard limit of 256 (setrlimit before exec); the test
opens more connections than the hard limit could ever hold."""
import os
import re
import resource
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402

SOFT, HARD = 64, 256
CONNECTIONS = 320  # more than HARD: without refusals some of them could never be accepted
REFUSAL = "421 4.3.2 Too many connections, try again later"
WARNING = re.compile(r"the open-file limit is (\d+) \(hard limit (\d+), raised from (\d+)\): room for (\d+) sessions, "
                     r"fewer than max_connections = 10000; connections beyond \d+ get 421 4\.3\.2")
QUEUED = re.compile(r"^250 2\.6\.0 [0-9A-F]{16} Queued mail for delivery$")


def low_descriptor_limit():
    resource.setrlimit(resource.RLIMIT_NOFILE, (SOFT, HARD))


def open_files_limits(pid):
    """(soft, hard) of "Max open files" in /proc/<pid>/limits."""
    with open(f"/proc/{pid}/limits") as f:
        fields = re.search(r"^Max open files\s+(\d+)\s+(\d+)", f.read(), re.M)
    return int(fields.group(1)), int(fields.group(2))


class ShortOfDescriptors(unittest.TestCase):

    def setUp(self):
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        if hard != resource.RLIM_INFINITY and hard < CONNECTIONS + 64:
            self.skipTest(f"this test process may open only {hard} files")
        resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, CONNECTIONS + 64), hard))
        self.addCleanup(resource.setrlimit, resource.RLIMIT_NOFILE, (soft, hard))
        self.sluice = harness.Sluice(connectors=[{"name": "Default", "starttls": False}],
                                     extra="[queue]\nmax_deliveries = 10\n",
                                     limits=f"max_connections_per_ip = {CONNECTIONS}\n")
        self.sluice.start(preexec_fn=low_descriptor_limit)
        self.addCleanup(self.sluice.stop)

    def connect_all(self, count, clients):
        """Opens `count` connections one after another, each kept open in `clients`, and reads
        each one's first reply: a banner, or the refusal followed by the close (a timeout: no
        reply at all). Returns (banners, refusals)."""
        greeted = refused = 0
        for _ in range(count):
            raw = harness.Raw(self.sluice.port, timeout=5)
            clients.append(raw)
            code, text = raw.reply()
            if code == 220:
                greeted += 1
            else:
                self.assertEqual(text, REFUSAL)
                self.assertTrue(raw.closed())
                refused += 1
        return greeted, refused

    def test_connections_beyond_the_descriptors_get_421_and_service_recovers(self):
        self.assertEqual(open_files_limits(self.sluice.proc.pid), (HARD, HARD))
        warning = WARNING.search(self.sluice.server_log())
        self.assertIsNotNone(warning, self.sluice.server_log())
        self.assertEqual([int(g) for g in warning.groups()[:3]], [HARD, HARD, SOFT])
        room = int(warning.group(4))
        self.assertTrue(0 < room < HARD, room)

        clients = []
        try:
            greeted, refused = self.connect_all(CONNECTIONS, clients)
            self.assertEqual((greeted, refused), (room, CONNECTIONS - room))
            # The sessions that were let in work normally.
            self.assertEqual(clients[0].cmd("EHLO client.test")[0], 250)
        finally:
            for raw in clients:
                raw.close()

        # Once they are gone, new sessions are let in again and mail goes through.
        def greeted_again():
            raw = harness.Raw(self.sluice.port, timeout=5)
            code, _ = raw.reply()
            if code == 220:
                return raw
            raw.close()
            return None
        raw = harness.wait_for("a banner after the connections closed", greeted_again, timeout=10)
        try:
            self.assertEqual(raw.cmd("EHLO client.test")[0], 250)
            self.assertEqual(raw.cmd("MAIL FROM:<alice@example.org>")[0], 250)
            self.assertEqual(raw.cmd("RCPT TO:<bob@localhost>")[0], 250)
            self.assertEqual(raw.cmd("DATA")[0], 354)
            self.assertRegex(raw.cmd("Subject: after\r\n\r\nhello\r\n.")[1], QUEUED)
        finally:
            raw.close()
        self.assertEqual(len(self.sluice.maildir("bob")), 1)
        # No line per refused connection on stderr.
        self.assertLessEqual(self.sluice.server_log().count("accept failed"), 1, self.sluice.server_log())


    def test_accept_failing_for_want_of_descriptors_still_answers_421(self):
        # Descriptors taken by something other than sessions: the soft limit lowered under the
        # running gateway to a few more than it has open, so accept() itself fails with EMFILE.
        pid = self.sluice.proc.pid
        open_now = len(os.listdir(f"/proc/{pid}/fd"))
        resource.prlimit(pid, resource.RLIMIT_NOFILE, (open_now + 5, HARD))
        clients = []
        try:
            greeted, refused = self.connect_all(40, clients)
            self.assertGreater(refused, 30)
            self.assertLessEqual(greeted, 5)
        finally:
            for raw in clients:
                raw.close()
        resource.prlimit(pid, resource.RLIMIT_NOFILE, (HARD, HARD))
        raw = harness.Raw(self.sluice.port, timeout=5)
        try:
            self.assertEqual(raw.reply()[0], 220)
        finally:
            raw.close()
        # One warning, not a line per refused connection.
        self.assertEqual(self.sluice.server_log().count("accept failed: Too many open files"), 1,
                         self.sluice.server_log())


if __name__ == "__main__":
    unittest.main()
