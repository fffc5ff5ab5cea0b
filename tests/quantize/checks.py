"""What the quantize test scripts share: failures collected as they come (a script reports
them all, not the first), octet run as a subprocess, and the exit that reports them."""
import os
import subprocess
import sys

SHARED = os.path.join(os.environ.get("OCTET_SOURCE_ROOT", "."), "..", "shared", "models")
failures = []


def check(ok, what):
    if not ok:
        failures.append(what)


def octet(exe, *args):
    return subprocess.run([exe, *args], capture_output=True, text=True)


def read(path):
    with open(path, "rb") as f:
        return f.read()


def finish(ok_line):
    """Prints the failures and exits 1, or prints ok_line."""
    if failures:
        print("\n".join(failures))
        sys.exit(1)
    print(ok_line)
