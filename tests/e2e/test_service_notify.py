"""End-to-end: `sluice serve` under systemd's notification protocol (Type=notify, sd_notify(3)).
NOTIFY_SOCKET names a datagram socket of this test, standing in for systemd: READY=1 comes once
the listeners accept, STATUS= follows the sessions and the queue, STOPPING=1 comes on SIGTERM,
and WATCHDOG=1 comes within the interval WATCHDOG_USEC asks for."""
import os
import signal
import smtplib
import socket
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402


def base_environment():
    """This process's environment without a service manager's variables of its own."""
    return {k: v for k, v in os.environ.items() if k not in ("NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID")}


class ServiceNotifyTest(unittest.TestCase):
    def start(self, **env):
        self.notify = harness.NotifySocket()
        self.addCleanup(self.notify.close)
        # Relaying from loopback: a message for another domain waits in the queue (its MX lookup
        # goes to a port where no DNS server answers), so the queue size is something to report.
        self.sluice = harness.Sluice(connectors=[{"name": "Default", "relay_from": ["127.0.0.1"], "starttls": False}])
        self.addCleanup(self.sluice.remove)
        self.stderr = open(self.sluice.stderr_path, "w")
        self.addCleanup(self.stderr.close)
        self.proc = subprocess.Popen([harness.SLUICE, "serve", "--config", self.sluice.config],
                                     stdout=subprocess.DEVNULL, stderr=self.stderr,
                                     env={**base_environment(), "NOTIFY_SOCKET": self.notify.path, **env})
        self.addCleanup(self.kill)

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def test_ready_once_listening_then_status_then_stopping(self):
        self.start()
        self.assertEqual(self.notify.next(timeout=30), "READY=1")
        # READY=1 is the signal systemd orders dependent units by: the port must take a
        # connection the moment it arrives.
        self.assertTrue(harness.listening(self.sluice.port))
        self.assertIn(f"listening on 127.0.0.1:{self.sluice.port} ", self.sluice.server_log())
        self.assertEqual(self.notify.next(), "STATUS=0 sessions, 0 messages queued")

        first = smtplib.SMTP("127.0.0.1", self.sluice.port, timeout=10)
        second = smtplib.SMTP("127.0.0.1", self.sluice.port, timeout=10)
        self.notify.wait_for("STATUS=2 sessions, 0 messages queued")
        first.sendmail("alice@sluice.test", ["bob@elsewhere.test"], b"Subject: wait\r\n\r\nqueued\r\n")
        self.notify.wait_for("STATUS=2 sessions, 1 message queued")
        first.quit()
        second.quit()
        self.notify.wait_for("STATUS=0 sessions, 1 message queued")

        self.proc.send_signal(signal.SIGTERM)
        self.notify.wait_for("STOPPING=1")
        self.assertEqual(self.proc.wait(30), 0, self.sluice.server_log())
        # Nothing claims readiness again on the way out, and every message was a known assignment.
        self.assertNotIn("READY=1", self.notify.received[1:])
        for message in self.notify.received:
            self.assertRegex(message, r"^(READY=1|STOPPING=1|STATUS=\d+ sessions?, \d+ messages? queued)$")

    def test_watchdog_keep_alive_within_the_interval(self):
        # WatchdogSec=0.4s: sluice must say it is alive at least every 0.4 s (it does at half that).
        self.start(WATCHDOG_USEC="400000")
        self.notify.wait_for("READY=1", timeout=30)
        times = []
        while len(times) < 6:
            if self.notify.next() == "WATCHDOG=1":
                times.append(time.monotonic())
        gaps = [b - a for a, b in zip(times, times[1:])]
        self.assertLess(max(gaps), 0.4, gaps)
        self.proc.send_signal(signal.SIGTERM)
        self.notify.wait_for("STOPPING=1")
        self.assertEqual(self.proc.wait(30), 0, self.sluice.server_log())

    def test_no_watchdog_without_one_asked_for(self):
        self.start()
        self.notify.wait_for("READY=1", timeout=30)
        self.notify.next()  # the first STATUS
        # An idle gateway sends nothing more: the status did not change and no watchdog is set.
        self.notify.sock.settimeout(1.5)
        with self.assertRaises(socket.timeout):
            self.notify.sock.recv(4096)


if __name__ == "__main__":
    unittest.main()
