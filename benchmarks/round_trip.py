"""Cost of one checked round trip inside Robot Framework, with output.xml and log.html on.

Four ways to do the same request and check, each run as a plain ``robot`` suite:
  (a) raw   - a Python loop over a socket inside one keyword: the floor;
  (b) noop  - two calls of a no-op keyword from a trivial library: RF's own floor;
  (c) kit   - SocketLibrary ``Send`` + ``Reply Should Be``;
  (d) telnet- the Telnet library: ``Write Bare`` + ``Read Until`` + ``Should Be Equal``.
The cost per iteration is (time of 3N iterations - time of N) / 2N, so start-up cancels.
Each measurement is repeated; medians and ratios are printed.

Run: python benchmarks/round_trip.py [--iterations 3000] [--repeat 3]
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

SUITE = """\
*** Settings ***
Library    SocketLibrary
Library    Telnet
Library    {here}/floor.py

*** Test Cases ***
Raw
    Raw Round Trips    ${{HOST}}    ${{PORT}}    ${{N}}

Noop
    FOR    ${{i}}    IN RANGE    ${{N}}
        No Op
        No Op
    END

Kit
    Open TCP Connection    ${{HOST}}    ${{PORT}}
    FOR    ${{i}}    IN RANGE    ${{N}}
        Send    ping\\n
        Reply Should Be    Echo=>ping\\n
    END

Telnet
    Telnet.Open Connection    ${{HOST}}    port=${{PORT}}    timeout=5s
    FOR    ${{i}}    IN RANGE    ${{N}}
        Write Bare    ping\\n
        ${{reply}}    Read Until    \\n
        Should Be Equal    ${{reply}}    Echo=>ping\\n
    END
"""
VARIANTS = {
    "raw": "(a) raw socket loop",
    "noop": "(b) two no-op keywords",
    "kit": "(c) Send + Reply Should Be",
    "telnet": "(d) Telnet Write/Read/Equal",
}


def run(suite: Path, test: str, address: tuple[str, int], iterations: int) -> float:
    with tempfile.TemporaryDirectory() as out:
        started = time.perf_counter()
        subprocess.run(
            [
                sys.executable,
                "-m",
                "robot",
                "--outputdir",
                out,
                "--console",
                "none",
                "--test",
                test,
                "--variable",
                f"HOST:{address[0]}",
                "--variable",
                f"PORT:{address[1]}",
                "--variable",
                f"N:{iterations}",
                str(suite),
            ],
            check=True,
        )
        return time.perf_counter() - started


def per_iteration(suite: Path, test: str, address: tuple[str, int], n: int) -> float:
    return (run(suite, test, address, 3 * n) - run(suite, test, address, n)) / (2 * n)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--iterations", type=int, default=3000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    here = Path(__file__).resolve().parent
    with tempfile.TemporaryDirectory() as folder, serve("echo") as address:
        suite = Path(folder) / "round_trip.robot"
        suite.write_text(SUITE.format(root=ROOT, here=here))
        samples: dict[str, list[float]] = {name: [] for name in VARIANTS}
        for _ in range(args.repeat):  # interleaved, so drift hits every variant alike
            for name in VARIANTS:
                samples[name].append(
                    per_iteration(suite, name.capitalize(), address, args.iterations)
                )
    median = {name: statistics.median(values) for name, values in samples.items()}
    print(f"per iteration, median of {args.repeat} (N={args.iterations} vs 3N):")
    for name, label in VARIANTS.items():
        spread = ", ".join(f"{value * 1000:.3f}" for value in samples[name])
        print(f"  {label:<30} {median[name] * 1000:7.3f} ms   [{spread}]")
    print(f"  (c)/(d) kit vs Telnet     {median['kit'] / median['telnet']:.2f}  (target <= 0.6)")
    print(f"  (c)/(b) kit vs RF floor   {median['kit'] / median['noop']:.2f}  (target <= 1.3)")


if __name__ == "__main__":
    main()
