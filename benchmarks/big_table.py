"""What a big data-driven table costs: 5,000 request/reply rows against ``uppercase``.

One suite with a ``Test Template`` table of 5,000 rows, one test per row, every row a
``Send`` + ``Reply Should Be`` over one UDP connection, run by plain ``robot`` with
output.xml, log.html and report.html written. Prints the total and the time per row
(median of the repeats), and how much of it is writing the reports.

Run: python benchmarks/big_table.py [--rows 5000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from services import serve

ROOT = Path(__file__).resolve().parent.parent

HEADER = """\
*** Settings ***
Library           SocketLibrary
Suite Setup       Open UDP Connection    ${{HOST}}    ${{PORT}}
Suite Teardown    Close All Connections
Test Template     Sentence Should Come Back In Uppercase

*** Test Cases ***    SENT    REPLY
"""
FOOTER = """
*** Keywords ***
Sentence Should Come Back In Uppercase
    [Arguments]    ${sent}    ${reply}
    Send    ${sent}
    Reply Should Be    ${reply}
"""


def write_suite(path: Path, rows: int) -> None:
    lines = [
        f"Row {number}    sentence number {number}    SENTENCE NUMBER {number}"
        for number in range(1, rows + 1)
    ]
    path.write_text(HEADER.format(root=ROOT) + "\n".join(lines) + "\n" + FOOTER)


def timed(command: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=5000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    totals, reports = [], []
    with tempfile.TemporaryDirectory() as folder, serve("uppercase") as (host, port):
        suite = Path(folder) / "big_table.robot"
        write_suite(suite, args.rows)
        for _ in range(args.repeat):
            out = Path(folder) / "out"
            totals.append(
                timed(
                    [
                        sys.executable,
                        "-m",
                        "robot",
                        "--outputdir",
                        str(out),
                        "--console",
                        "none",
                        "--variable",
                        f"HOST:{host}",
                        "--variable",
                        f"PORT:{port}",
                        str(suite),
                    ]
                )
            )
            reports.append(
                timed(
                    [
                        sys.executable,
                        "-m",
                        "robot.rebot",
                        "--outputdir",
                        str(Path(folder) / "again"),
                        str(out / "output.xml"),
                    ]
                )
            )
    total = statistics.median(totals)
    report = statistics.median(reports)
    print(
        f"{args.rows} rows, median of {args.repeat}: {total:.1f} s in all, "
        f"{1000 * total / args.rows:.2f} ms per row"
    )
    print(f"  of which writing log.html and report.html again with rebot takes {report:.1f} s")


if __name__ == "__main__":
    main()
