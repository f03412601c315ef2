"""Benchmark of a cold ``make report``: clone the repository into a temporary directory
and build everything there, from creating the virtual environment to the PDF.

Usage::

    python benchmarks/bench_build.py                 # clone HEAD of this checkout
    python benchmarks/bench_build.py --rev main~3    # another commit
    python benchmarks/bench_build.py --make-args=-j1 # force a serial build
    python benchmarks/bench_build.py --keep          # keep the clone for inspection

It runs ``make report`` once in the fresh clone (no ``.venv``, no ``build/``) and stamps
every output line with the time since the start, so that the phases can be told apart:
the environment (``make install``: everything before the first ``[runner]`` line), the
notebooks (to the last ``[runner] ... done`` line) and the render. It then runs
``make report`` a second time, which must execute nothing. Prints the figures; no
assertions. Target on the project's 2-core machine: a cold ``make report`` in at most
90 s.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def timed_make(cwd: Path, args: list[str], env: dict) -> tuple[float, list[tuple[float, str]],
                                                                int]:
    """Run make, echoing and time-stamping every line; (seconds, lines, exit code)."""
    started = time.perf_counter()
    proc = subprocess.Popen(["make", *args], cwd=cwd, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, bufsize=1)
    lines = []
    for line in proc.stdout:
        t = time.perf_counter() - started
        lines.append((t, line.rstrip("\n")))
        print(f"{t:7.1f}s | {line}", end="", flush=True)
    code = proc.wait()
    return time.perf_counter() - started, lines, code


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rev", default="HEAD", help="commit to clone (default HEAD)")
    parser.add_argument("--make-args", default="", help="extra make arguments, e.g. -j1")
    parser.add_argument("--keep", action="store_true", help="keep the temporary clone")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="bench-build-"))
    clone = tmp / "rednote-analysis"
    try:
        subprocess.run(["git", "clone", "--quiet", "--no-hardlinks", str(ROOT), str(clone)],
                       check=True)
        subprocess.run(["git", "checkout", "--quiet", args.rev], cwd=clone, check=True)
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=clone,
                                capture_output=True, text=True).stdout.strip()
        # The caller's build overrides must not leak into the clone's build.
        env = {k: v for k, v in os.environ.items()
               if not k.startswith("ANALYSIS_") and k not in ("MAKEFLAGS", "MFLAGS",
                                                               "VIRTUAL_ENV")}
        extra = args.make_args.split()
        total, lines, code = timed_make(clone, [*extra, "report"], env)
        if code != 0:
            print(f"\nmake report failed (exit {code}) after {total:.1f} s", file=sys.stderr)
            return code
        runner = [t for t, ln in lines if "[runner]" in ln]
        install = runner[0] if runner else float("nan")
        notebooks_done = runner[-1] if runner else float("nan")
        per_nb = [ln for _, ln in lines
                  if re.search(r"\[runner\] .*: (done in|up to date)", ln)]
        again, again_lines, _ = timed_make(clone, [*extra, "report"], env)
        executed_again = [ln for _, ln in again_lines if "[runner]" in ln and "done in" in ln]
        print()
        print(f"commit {commit}, {os.cpu_count()} cores, make {' '.join(extra) or '(defaults)'}")
        print(f"cold make report          {total:6.1f} s")
        print(f"  environment (install)   {install:6.1f} s")
        print(f"  notebooks               {notebooks_done - install:6.1f} s")
        print(f"  render                  {total - notebooks_done:6.1f} s")
        for ln in per_nb:
            print(f"    {ln.strip()}")
        print(f"second make report        {again:6.1f} s "
              f"({len(executed_again)} notebook(s) executed)")
        print(f"target                    {'met' if total <= 90 else 'missed'} (<= 90 s)")
    finally:
        if args.keep:
            print(f"clone kept at {clone}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
