"""Promises 10 and 11 of docs/security.md: the protocol log never stops or slows mail, and what clients send
reaches it only as printable text.

- A full log file system: <state>/logs/ProtocolLog alone on a small tmpfs, filled while sluice runs.
  Sessions go on as before (every one of several concurrent sessions pipelining NOOPs gets its banner
  and every reply; a message is accepted and delivered), a failed line costs no new file (no empty or header-only RECV files, no file
  created at all while the disk is full), stderr says so once rather than per line, and once space
  returns lines appear again by themselves. (Needs root for the tmpfs; skipped otherwise.)
- Control bytes: a client whose EHLO name and commands carry NUL, ESC, BEL, CR, DEL, a C1 control and
  bytes that are not UTF-8 leaves a log of printable UTF-8 lines with those escaped
  (docs/protocol-log.md), which `sluice logscan` still reads."""
import json
import os
import re
import subprocess
import sys
import threading
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402
from test_faults import NO_TLS, fill, mount_tmpfs, submit, umount  # noqa: E402

RECV_DIR = "logs/ProtocolLog/SmtpReceive"


def pipelined_noops(port, count, results, index):
    """One session: the banner, EHLO, `count` pipelined NOOPs, QUIT; records the replies' codes."""
    try:
        r = harness.Raw(port, timeout=30)
        codes = [r.reply()[0]]
        r.send(b"EHLO load.example\r\n" + b"NOOP\r\n" * count + b"QUIT\r\n")
        for _ in range(count + 2):
            codes.append(r.reply()[0])
        r.close()
        results[index] = codes
    except OSError as e:
        results[index] = f"failed: {e}"


def recv_files(sluice):
    folder = os.path.join(sluice.state, RECV_DIR)
    return {name: os.path.getsize(os.path.join(folder, name)) for name in os.listdir(folder) if name.endswith(".LOG")}


def session_with_name(port, name):
    r = harness.Raw(port)
    r.reply()
    r.cmd(f"EHLO {name}")
    r.cmd("QUIT")
    r.close()


class FullLogDisk(unittest.TestCase):
    """The protocol log directory on a 512 KiB tmpfs; the spool on the ordinary disk."""

    def setUp(self):
        # Many log lines from few sessions: the junk-command limit (promise 15) would end them first.
        self.sluice = harness.Sluice(connectors=NO_TLS, limits="max_junk_commands = 1000")
        self.logs = os.path.join(self.sluice.state, "logs", "ProtocolLog")
        why = mount_tmpfs(self.logs, "512k")
        if why:
            self.skipTest(why)
        self.addCleanup(umount, self.logs)
        self.sluice.start()
        self.addCleanup(self.sluice.stop)

    def test_sessions_go_on_and_logging_resumes_when_space_returns(self):
        session_with_name(self.sluice.port, "before.example")
        self.sluice.protocol_log(wait_for="before.example")
        filler = fill(self.logs, 0)
        before = recv_files(self.sluice)

        # Several clients pipelining NOOPs at once, with nowhere to write a line.
        sessions, noops = 8, 300
        results = [None] * sessions
        threads = [threading.Thread(target=pipelined_noops, args=(self.sluice.port, noops, results, i))
                   for i in range(sessions)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        for codes in results:
            self.assertEqual(codes, [220, 250] + [250] * noops + [221])
        # Mail is accepted and delivered: the spool decides that, never the log.
        self.assertTrue(submit(self.sluice.port, "bob@sluice.test", "log disk full").startswith("250 2.6.0 "))
        self.assertEqual(len(self.sluice.maildir("bob")), 1)

        # No file was created for the lines that could not be written: in particular no empty or
        # header-only RECV file (each of those used to cost every later line a longer search).
        # A retry (once a second) creates a file and removes it at once when its header does not
        # fit: a listing may catch one in between, so the listing is taken again until it has none.
        def created_and_empty():
            after = recv_files(self.sluice)
            return sorted(set(after) - set(before)), [n for n, size in after.items() if size == 0]

        harness.wait_until(lambda: created_and_empty() == ([], []), timeout=2)
        created, empty = created_and_empty()
        self.assertEqual((len(created), len(empty)), (0, 0),
                         f"files created while the disk was full: {created[:3]}..., empty: {empty[:3]}...")
        stderr = self.sluice.server_log()
        warnings = [l for l in stderr.splitlines() if "protocol log:" in l and "No space left on device" in l]
        self.assertEqual(len(warnings), 1, stderr)  # once, not per line (the next report is a minute away)

        # Space returns: lines are written again without a restart or a new hour. The writer tries
        # again a second after its last failure, so sessions are made until one is logged.
        os.unlink(filler)
        names = []

        def logged_again():
            names.append(f"after{len(names)}.example")
            session_with_name(self.sluice.port, names[-1])
            return any(name in line for line in self.sluice.protocol_log() for name in names)

        harness.wait_for("a session logged after space returned", logged_again, timeout=15, interval=0.2)
        self.assertRegex(self.sluice.server_log(),
                         r"protocol log: writing \S+RECV\d{10}-\d+\.LOG again; \d+ line\(s\) were lost")
        # Every line in every file is whole: nothing half-written was left when the disk filled.
        records = harness.protocol_log_records(self.sluice)
        self.assertTrue(any("before.example" in r.data for r in records))
        for name, size in recv_files(self.sluice).items():
            with open(os.path.join(self.sluice.state, RECV_DIR, name), "rb") as f:
                self.assertTrue(f.read().endswith(b"\r\n"), name)


# Each command as the client sends it, and the data field the log must hold for it.
NASTY = [
    (b"EHLO evil\x00host\x1b[2J.example", r"EHLO evil\x00host\x1B[2J.example"),
    (b"NOOP \x1b]0;title\x07", r"NOOP \x1B]0;title\x07"),
    (b"MAIL FROM:<a\x01b@example.org>", r"MAIL FROM:<a\x01b@example.org>"),
    (b"\x7fHELP", r"\x7FHELP"),
    (b"RSET \xc2\x9b31m \xff\xfe", r"RSET \u009B31m \xFF\xFE"),
    (b"NOOP a\rb\tc", r"NOOP a\x0Db\x09c"),
]


class ControlBytesInLog(unittest.TestCase):
    def setUp(self):
        self.sluice = harness.Sluice(connectors=NO_TLS).start()
        self.addCleanup(self.sluice.stop)

    def test_escaped_and_still_read_by_logscan(self):
        r = harness.Raw(self.sluice.port)
        r.reply()
        for command, _ in NASTY:
            r.send(command + b"\r\n")
            r.reply()
        r.cmd("QUIT")
        r.close()

        def raw_log():
            data = b""
            for path in self.sluice.protocol_log_files():
                with open(path, "rb") as f:
                    data += f.read()
            return data if b",-,," in data else None  # the session's last line is there

        raw = harness.wait_for("the session's disconnect line", raw_log, timeout=10)
        for line in raw.split(b"\r\n")[:-1]:
            bad = re.findall(rb"[\x00-\x1f\x7f]|\xc2[\x80-\x9f]", line)
            self.assertEqual(bad, [], line)
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError as e:
            self.fail(f"not UTF-8: {e}")
        session = harness.wait_for_session(self.sluice)
        received = [rec.data for rec in session if rec.event == "<"]
        self.assertEqual(received, [shown for _, shown in NASTY] + ["QUIT"])

        p = subprocess.run([harness.SLUICE, "logscan", "--json", os.path.join(self.sluice.state, "logs")],
                           capture_output=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        report = json.loads(p.stdout)
        self.assertEqual(report["inputs"]["malformed"], 0)
        self.assertEqual(report["summary"]["sessions"]["plaintext"], 1)
        self.assertEqual(report["summary"]["top_peers"][0]["names"], [r"evil\x00host\x1B[2J.example"])


if __name__ == "__main__":
    unittest.main()
