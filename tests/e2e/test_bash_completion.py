"""packaging/bash-completion/sluice: the same as scripts/make-bash-completion writes from the built
binary's --help (so it cannot drift from the options sluice accepts), and working in a real bash:
commands, nested subcommands, options, and paths after options that take a file."""
import os
import shlex
import subprocess
import tempfile
import unittest

import harness

COMPLETION = os.path.join(harness.SOURCE_DIR, "packaging/bash-completion/sluice")


def complete(*words):
    """What bash's completion offers for the command line `words` (the last one being completed)."""
    script = (f"source {shlex.quote(COMPLETION)}\n"
              f"COMP_WORDS=({' '.join(shlex.quote(w) for w in words)}); COMP_CWORD={len(words) - 1}\n"
              "_sluice; printf '%s\\n' \"${COMPREPLY[@]}\"; complete -p sluice >&2\n")
    p = subprocess.run(["bash", "--norc", "--noprofile", "-c", script], capture_output=True, text=True, timeout=30)
    assert p.returncode == 0 and "-F _sluice sluice" in p.stderr, p.stderr
    return sorted(line for line in p.stdout.splitlines() if line)


class BashCompletion(unittest.TestCase):
    def test_matches_the_binarys_help(self):
        generated = subprocess.run([os.path.join(harness.SOURCE_DIR, "scripts/make-bash-completion"), harness.SLUICE],
                                   capture_output=True, text=True, timeout=60)
        self.assertEqual(generated.returncode, 0, generated.stderr)
        with open(COMPLETION) as f:
            self.assertEqual(f.read(), generated.stdout,
                             "packaging/bash-completion/sluice is out of date: run "
                             "scripts/make-bash-completion build/sluice > packaging/bash-completion/sluice")

    def test_completes_in_bash(self):
        commands = subprocess.run([harness.SLUICE, "--help"], capture_output=True, text=True).stdout
        self.assertEqual(complete("sluice", "se"), ["serve"])
        everything = complete("sluice", "")
        self.assertIn("oauth-token", everything)
        self.assertTrue(all(f"  {c} " in commands for c in everything), everything)
        self.assertEqual(complete("sluice", "--v"), ["--version"])
        self.assertEqual(complete("sluice", "serve", "--c"), ["--check-config", "--config"])
        self.assertEqual(complete("sluice", "queue", ""), ["drain", "list", "move", "remove", "retry", "show"])
        self.assertEqual(complete("sluice", "queue", "-c", "/etc/sluice.toml", "re"), ["remove", "retry"])
        self.assertEqual(complete("sluice", "queue", "remove", "--no"), ["--no-bounce"])
        self.assertEqual(complete("sluice", "user", "add", "--pa"), ["--password-stdin"])
        folder = tempfile.mkdtemp(prefix="sluice-completion-")
        harness._made_dirs.append(folder)
        open(os.path.join(folder, "gateway.toml"), "w").close()
        self.assertEqual(complete("sluice", "serve", "--config", os.path.join(folder, "gat")),
                         [os.path.join(folder, "gateway.toml")])
        self.assertEqual(complete("sluice", "logscan", "--top", "5", os.path.join(folder, "g")),
                         [os.path.join(folder, "gateway.toml")])
        self.assertEqual(complete("sluice", "probe", "--port", ""), [])  # a number: nothing to offer


if __name__ == "__main__":
    unittest.main()
