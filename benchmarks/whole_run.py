"""Wall time of the whole acceptance run: every suite, the six server suites against the
bundled servers and the six client suites against the bundled clients.

Plain ``robot`` against ``pabot`` (two processes, the longest suite first, no PabotLib),
both writing output.xml, log.html and report.html, as the README's main command does,
and plain ``robot`` on the server suites alone (``--exclude client``), interleaved, so
that what the client suites add is measured under the same load. Medians of the repeats.
Run: python benchmarks/whole_run.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def timed(command: list[str]) -> float:
    # pabot starts "robot" from PATH: make it this interpreter's.
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    started = time.perf_counter()
    result = subprocess.run(
        command,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "PATH": path},
    )
    if result.returncode != 0:
        raise SystemExit(f"{command[2]} failed:\n{result.stdout[-2000:]}")
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    runs: dict[str, list[float]] = {"robot": [], "servers": [], "pabot": []}
    with tempfile.TemporaryDirectory() as folder:
        for number in range(args.repeat):
            out = Path(folder) / str(number)
            runs["robot"].append(
                timed([sys.executable, "-m", "robot", "--outputdir", str(out / "robot"), "suites"])
            )
            runs["servers"].append(
                timed(
                    [
                        sys.executable,
                        "-m",
                        "robot",
                        "--exclude",
                        "client",
                        "--outputdir",
                        str(out / "servers"),
                        "suites",
                    ]
                )
            )
            runs["pabot"].append(
                timed(
                    [
                        sys.executable,
                        "-m",
                        "pabot.pabot",
                        "--no-pabotlib",
                        "--ordering",
                        "suites/pabot_order.txt",
                        "--outputdir",
                        str(out / "pabot"),
                        "suites",
                    ]
                )
            )
    robot, servers, pabot = (statistics.median(runs[run]) for run in runs)
    print(f"every suite, {os.cpu_count()} cores, median of {args.repeat}:")
    for run, label in (
        ("robot", "robot, all suites"),
        ("servers", "robot, server suites only"),
        ("pabot", "pabot, all suites"),
    ):
        times = ", ".join(f"{t:.1f}" for t in runs[run])
        print(f"  {label:27} {statistics.median(runs[run]):5.1f} s   [{times}]")
    print(f"  the client suites add {robot - servers:.1f} s; pabot/robot {pabot / robot:.2f}")


if __name__ == "__main__":
    main()
