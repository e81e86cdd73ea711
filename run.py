#!/usr/bin/env python3
"""The two commands of the quick start, for a machine that has only Python 3.11+:

    python3 run.py demo     # pust up --demo: the whole system with the demo data
    python3 run.py test     # the test suite

Finds uv (or installs it into .pust/bootstrap with pip) and runs the command in the
project's locked environment. Extra arguments are passed on.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
SOURCES = ("pust", "services", "pust_cli")
USAGE = "usage: python3 run.py demo [pust up flags] | test [pytest args]"


def find_uv() -> str:
    found = shutil.which("uv")
    if found:
        return found
    tools = ROOT / ".pust" / "bootstrap"
    scripts = tools / ("Scripts" if os.name == "nt" else "bin")
    uv = scripts / ("uv.exe" if os.name == "nt" else "uv")
    if not uv.exists():
        print("pust: installing uv into .pust/bootstrap (once) …", flush=True)
        venv.create(tools, with_pip=True)
        python = scripts / ("python.exe" if os.name == "nt" else "python")
        subprocess.check_call([str(python), "-m", "pip", "install", "--quiet", "uv"])  # noqa: S603
    return str(uv)


def main() -> int:
    if sys.version_info < (3, 11):
        print("pust needs Python 3.11 or newer", file=sys.stderr)
        return 2
    if len(sys.argv) < 2 or sys.argv[1] not in ("demo", "test"):
        print(USAGE, file=sys.stderr)
        return 2
    uv = find_uv()
    command, rest = sys.argv[1], sys.argv[2:]
    os.chdir(ROOT)
    # Byte-compile once: where PYTHONDONTWRITEBYTECODE is set, every service process (and
    # every one a test starts) would otherwise recompile all its imports on start (~4 s CPU).
    os.environ.setdefault("UV_COMPILE_BYTECODE", "1")
    subprocess.call(  # noqa: S603
        [uv, "run", "--frozen", "python", "-m", "compileall", "-q", "-j", "0", *SOURCES],
        stdout=subprocess.DEVNULL,
    )
    if command == "demo":
        argv = [uv, "run", "--frozen", "pust", "up", "--demo", *rest]
    else:
        argv = [uv, "run", "--frozen", "pytest", *rest]
    if os.name == "posix":
        # become uv: Ctrl-C and exit codes go straight to and from pust / pytest
        os.execv(uv, argv)  # noqa: S606
    return subprocess.call(argv)  # noqa: S603


if __name__ == "__main__":
    sys.exit(main())
