"""Log retention as Exchange does it (docs/protocol-log.md, "Retention"), with small limits.

`sluice serve` starts over a receive directory holding a file last written 40 days ago, a file
that is not a log, and a send directory with an old file of its own. Sessions are sent until the
receive log has rolled into several files and the oldest were removed for the directory's size;
the message tracking log, with its own small limits, is kept by the same routine. Then the rolled
files that are left keep Exchange's names and `sluice logscan` reads every one of them."""
import glob
import json
import os
import re
import smtplib
import subprocess
import time
import unittest

import harness

FILE_SIZE = 2048
RECEIVE_DIRECTORY = 8192
TRACKING_FILE = 1024
TRACKING_DIRECTORY = 4096
DAY = 86400
SESSIONS = 16


def total_bytes(files):
    return sum(os.path.getsize(f) for f in files)


def old_file(path, days):
    """A log file last written `days` ago."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write("#Software: sluice\r\n")
    stamp = time.time() - days * DAY
    os.utime(path, (stamp, stamp))


class LogRetention(unittest.TestCase):
    def assert_rolled_at(self, path, limit):
        """A file stays within `limit`, unless it holds one line that alone is longer."""
        with open(path, encoding="utf-8") as f:
            lines = [line for line in f if not line.startswith("#")]
        if os.path.getsize(path) > limit:
            self.assertEqual(len(lines), 1, path)

    def test_rolls_removes_and_logscan_reads_what_is_left(self):
        extra = f"""
[protocol_log]
max_age = "30d"
max_file_size = {FILE_SIZE}
[protocol_log.receive]
max_directory_size = "8KB"
[protocol_log.send]
max_age = "unlimited"
[message_tracking]
max_file_size = "1KB"
max_directory_size = {TRACKING_DIRECTORY}
"""
        sluice = harness.Sluice(extra=extra)
        receive = os.path.join(sluice.state, "logs/ProtocolLog/SmtpReceive")
        send = os.path.join(sluice.state, "logs/ProtocolLog/SmtpSend")
        tracking = os.path.join(sluice.state, "logs/MessageTracking")
        old_file(os.path.join(receive, "RECV2020010100-1.LOG"), 40)
        old_file(os.path.join(receive, "RECV2020010100-2.LOG"), 29)  # young enough, until the size limit
        old_file(os.path.join(receive, "notes.txt"), 40)
        old_file(os.path.join(send, "SEND2020010100-1.LOG"), 40)  # send keeps files whatever their age
        with sluice:
            # The pass at start: the 40-day-old receive file goes, nothing else.
            harness.wait_for("the start-up retention pass", lambda: re.search(
                r"protocol log retention: removed 1 file\(s\), 19 bytes, from " + re.escape(receive)
                + r" \(1 last written over 30d ago\)", sluice.server_log()), timeout=10)
            self.assertFalse(os.path.exists(os.path.join(receive, "RECV2020010100-1.LOG")))
            self.assertTrue(os.path.exists(os.path.join(receive, "RECV2020010100-2.LOG")))

            # About 1.8 KB of log per session: one file each, sixteen files for a directory of four.
            for i in range(SESSIONS):
                with smtplib.SMTP("127.0.0.1", sluice.port, local_hostname=f"client{i}.test", timeout=10) as s:
                    s.sendmail("alice@client.test", ["bob@sluice.test"],
                               f"From: alice@client.test\r\nSubject: retention {i}\r\n\r\nhello\r\n")
            sluice.maildir("bob", count=SESSIONS)
            harness.wait_for("a removal for the receive directory's size", lambda: re.search(
                r"protocol log retention: removed \d+ file\(s\), [\d.]+ KB, from " + re.escape(receive)
                + r" \(\d+ beyond the 8.0 KB directory limit\)", sluice.server_log()), timeout=10)
            harness.wait_for("a removal for the tracking directory's size", lambda: re.search(
                r"message tracking log retention: removed \d+ file\(s\), .* from " + re.escape(tracking)
                + r" \(\d+ beyond the 4.0 KB directory limit\)", sluice.server_log()), timeout=10)
        self.assertEqual(sluice.proc.returncode, 0, sluice.server_log())
        # A pass runs at a roll, and the file being written grows after it until the next roll: the
        # directories are within their limits after a pass. The pass at the next start is one.
        sluice.start()
        harness.wait_for("both directories within their limits after the pass at start", lambda: total_bytes(
            glob.glob(os.path.join(tracking, "MSGTRK*.LOG"))) <= TRACKING_DIRECTORY and total_bytes(
            glob.glob(os.path.join(receive, "RECV*.LOG"))) <= RECEIVE_DIRECTORY, timeout=10)
        self.assertEqual(sluice.stop(), 0, sluice.server_log())

        left = sorted(glob.glob(os.path.join(receive, "RECV*.LOG")))
        self.assertGreaterEqual(len(left), 2, left)
        # Exchange's names, rolled within an hour: RECV<yyyymmddhh>-<n>.LOG
        for path in left:
            self.assertRegex(os.path.basename(path), r"^RECV\d{10}-\d+\.LOG$")
        self.assertNotIn(os.path.join(receive, "RECV2020010100-2.LOG"), left)  # the oldest went first
        self.assertLessEqual(total_bytes(left), RECEIVE_DIRECTORY)
        for path in left:
            self.assert_rolled_at(path, FILE_SIZE)
        self.assertTrue(os.path.exists(os.path.join(receive, "notes.txt")))  # not a log file: never removed
        self.assertTrue(os.path.exists(os.path.join(send, "SEND2020010100-1.LOG")))
        # The last session is still there, whole: the file being written is never removed.
        last = []
        for path in left:
            with open(path, encoding="utf-8") as f:
                last += [line for line in f if "client15.test" in line]
        self.assertTrue(last, left)

        tracked = sorted(glob.glob(os.path.join(tracking, "MSGTRK*.LOG")))
        self.assertGreaterEqual(len(tracked), 2)
        self.assertLessEqual(total_bytes(tracked), TRACKING_DIRECTORY)
        for path in tracked:
            self.assert_rolled_at(path, TRACKING_FILE)

        # logscan reads every rolled file as an Exchange receive log, line for line.
        lines = 0
        for path in left:
            with open(path, encoding="utf-8") as f:
                lines += sum(1 for line in f)  # logscan counts the header lines too
        scan = subprocess.run([harness.SLUICE, "logscan", "--json", *left], capture_output=True, timeout=60)
        report = json.loads(scan.stdout)
        files = {f["path"]: f for f in report["inputs"]["files"]}
        for path in left:
            entry = files.get(path)
            self.assertIsNotNone(entry, (path, sorted(files)))
            self.assertEqual(entry["format"], "exchange-receive")
            self.assertEqual(entry["malformed"], 0)
        self.assertEqual(report["inputs"]["lines"], lines)
        self.assertEqual(report["inputs"]["malformed"], 0)
        self.assertGreater(report["summary"]["sessions"]["plaintext"], 0)


if __name__ == "__main__":
    unittest.main()
