"""`sluice --version`: the version CMake's project() sets, the git revision the binary was built
from, and the OpenSSL it runs with, as the openssl command (same library) reports it. And the
generator of the revision file: "unknown" outside git (a release tarball), and a file that is not
rewritten when nothing changed, so a build after a commit recompiles that one file only."""
import os
import re
import shutil
import subprocess
import tempfile
import unittest

import harness


def run(*args, cwd=None):
    return subprocess.run(args, capture_output=True, text=True, timeout=60, cwd=cwd)


class Version(unittest.TestCase):
    def test_version_revision_and_openssl(self):
        p = run(harness.SLUICE, "--version")
        self.assertEqual(p.returncode, 0, p.stderr)
        lines = p.stdout.splitlines()
        self.assertEqual(len(lines), 2, p.stdout)
        m = re.fullmatch(r"sluice (\d+\.\d+\.\d+) \(revision (\S+)\)", lines[0])
        self.assertIsNotNone(m, lines[0])
        with open(os.path.join(harness.SOURCE_DIR, "CMakeLists.txt")) as f:
            project = re.search(r"project\(sluice VERSION (\S+)", f.read())
        self.assertEqual(m.group(1), project.group(1))

        git = run("git", "-C", harness.SOURCE_DIR, "describe", "--always", "--dirty")
        expected = git.stdout.strip() if git.returncode == 0 else "unknown"
        # Editing a file after the build makes the tree, not the binary, dirty: compare the commit.
        self.assertEqual(m.group(2).removesuffix("-dirty"), expected.removesuffix("-dirty"))

        openssl = run("openssl", "version").stdout.strip()
        library = re.search(r"\(Library: (.*)\)$", openssl)
        runtime = library.group(1) if library else openssl
        self.assertTrue(lines[1] == runtime or lines[1].startswith(runtime + " (built with OpenSSL "),
                        (lines[1], openssl))

    def test_revision_file_outside_git_and_unchanged_when_nothing_changed(self):
        work = tempfile.mkdtemp(prefix="sluice-version-")
        harness._made_dirs.append(work)
        output = os.path.join(work, "build_info.cc")
        script = os.path.join(harness.SOURCE_DIR, "cmake/build_info.cmake")
        tarball = os.path.join(work, "sluice-0.12.0")  # an unpacked release: no .git anywhere above
        os.mkdir(tarball)
        for _ in range(2):
            p = run("cmake", f"-DSOURCE_DIR={tarball}", "-DVERSION=0.12.0", f"-DOUTPUT={output}", "-P", script,
                    cwd=work)
            self.assertEqual(p.returncode, 0, p.stderr)
            if _ == 0:
                os.utime(output, (1_000_000_000, 1_000_000_000))
        with open(output) as f:
            text = f.read()
        self.assertIn('kBuildVersion = "0.12.0"', text)
        self.assertIn('kBuildRevision = "unknown"', text)
        self.assertEqual(os.path.getmtime(output), 1_000_000_000)  # not rewritten: nothing to recompile


if __name__ == "__main__":
    unittest.main()
