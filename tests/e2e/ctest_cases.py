"""Lists the ctest cases of the end-to-end scripts, one line each:
`name|script|argument|processors|seconds|lock`.

CMake reads this at configure time (CMakeLists.txt). A test class that shares a fixture between its
tests (it has a setUpClass) is one case; a class whose tests each set up their own is split into
one case per test, so that ctest can run them side by side: most of these tests wait on timers
(command timeouts, retries, DNS timeouts), not on the processor. A script may set
CTEST_PROCESSORS = 2 at module level when its tests keep a core busy (TLS scans, load): ctest then
counts them as two of its -j slots. A test class that takes long sets CTEST_SECONDS = N in its body (its
rough duration under the sanitizers): ctest starts the longest cases first (COST), so that a fresh
clone, which has no timings of an earlier run, does not end its suite waiting on one of them started
last. A script may set CTEST_RESOURCE_LOCK = "name" when its tests change something of the machine
that another script also changes (the `sluice` system user, an installed package): ctest then never
runs two cases holding the same lock at once. Reads the scripts with ast: nothing is imported or run."""
import ast
import pathlib
import sys


def test_classes(tree):
    """Top-level classes deriving (directly or through another class here) from a TestCase."""
    bases_of = {node.name: node for node in tree.body if isinstance(node, ast.ClassDef)}

    def is_test_case(name, seen=()):
        node = bases_of.get(name)
        if node is None or name in seen:
            return False
        for base in node.bases:
            text = ast.unparse(base)
            if text.endswith("TestCase") or is_test_case(text, seen + (name,)):
                return True
        return False

    return [node for name, node in bases_of.items() if is_test_case(name)]


def assigned(body, name, default):
    """The value of a constant assignment `name = ...` among the statements of `body`."""
    for node in body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", "") == name for t in node.targets):
            return ast.literal_eval(node.value)
    return default


# Most cases take a few seconds.
DEFAULT_SECONDS = 5


def main(directory):
    for script in sorted(pathlib.Path(directory).glob("test_*.py")):
        tree = ast.parse(script.read_text(), str(script))
        cpus = int(assigned(tree.body, "CTEST_PROCESSORS", 1))
        lock = str(assigned(tree.body, "CTEST_RESOURCE_LOCK", ""))
        for cls in test_classes(tree):
            seconds = int(assigned(cls.body, "CTEST_SECONDS", DEFAULT_SECONDS))
            methods = [n.name for n in cls.body if isinstance(n, ast.FunctionDef)]
            tests = [m for m in methods if m.startswith("test")]
            if not tests:
                continue
            if "setUpClass" in methods or len(tests) == 1:
                print(f"{script.stem}.{cls.name}|{script}|{cls.name}|{cpus}|{seconds}|{lock}")
            else:
                for t in tests:
                    print(f"{script.stem}.{cls.name}.{t}|{script}|{cls.name}.{t}|{cpus}|{seconds}|{lock}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else pathlib.Path(__file__).parent)
