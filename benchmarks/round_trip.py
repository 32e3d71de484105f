"""Cost of one checked round trip inside Robot Framework, with output.xml and log.html on.

Five ways to do the same request and check, each run as a plain ``robot`` suite:
  (a) raw   - a Python loop over a socket inside one keyword: the floor;
  (b) noop  - two calls of a no-op keyword from a trivial library: RF's own floor;
  (c) kit   - SocketLibrary ``Send`` + ``Reply Should Be``;
  (d) telnet- the Telnet library: ``Write Bare`` + ``Read Until`` + ``Should Be Equal``;
  (g) exchange - SocketLibrary ``Exchange``: the same send and check in one call.
The cost per iteration is (time of 3N iterations - time of N) / 2N, so start-up cancels.
(c) ends with ``Close All Connections`` in its teardown, as suites do, so the test's
sequence chart is drawn too.

A sixth variant, (e) tests, measures what the transcript costs per test rather than per
round trip: each iteration is a test of its own that opens a connection, does one checked
round trip and closes it in its teardown (its lines, and its chart). It is not run
unless named: ``--only tests`` (with ``--iterations 300``, say). Nor is (f) message, a
no-op beside a no-op that logs one line: (f) - (b) is what one message in log.html costs,
the price of each keyword writing its own transcript lines.
Each measurement is repeated, every variant once per round, so a ratio is taken within a
round (both sides under the same load) and the median of those ratios is printed, with
the medians per variant: of the wall time and of the CPU time the robot process used
(steadier on a shared, loaded machine).

``--against CHECKOUT`` runs every variant also with the kit of another checkout (for
example the main branch), interleaved, so a change is compared under the same load.

Run: python benchmarks/round_trip.py [--iterations 3000] [--repeat 3] [--against DIR]
                                    [--only kit [--only ...]]
"""

from __future__ import annotations

import argparse
import os
import resource
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

Message
    FOR    ${{i}}    IN RANGE    ${{N}}
        No Op
        Log One Line
    END

Kit
    Open TCP Connection    ${{HOST}}    ${{PORT}}
    FOR    ${{i}}    IN RANGE    ${{N}}
        Send    ping\\n
        Reply Should Be    Echo=>ping\\n
    END
    [Teardown]    Close All Connections

Exchange
    Open TCP Connection    ${{HOST}}    ${{PORT}}
    FOR    ${{i}}    IN RANGE    ${{N}}
        Exchange    ping\\n    Echo=>ping\\n
    END

Telnet
    Telnet.Open Connection    ${{HOST}}    port=${{PORT}}    timeout=5s
    FOR    ${{i}}    IN RANGE    ${{N}}
        Write Bare    ping\\n
        ${{reply}}    Read Until    \\n
        Should Be Equal    ${{reply}}    Echo=>ping\\n
    END
"""
# One test per iteration, each named Tests <n>: the (e) variant.
SHORT_TESTS = """\
*** Settings ***
Library    SocketLibrary
Test Teardown    Close All Connections

*** Test Cases ***
"""
SHORT_TEST = """\
Tests {n}
    Open TCP Connection    ${{HOST}}    ${{PORT}}
    Send    ping\\n
    Reply Should Be    Echo=>ping\\n

"""
VARIANTS = {
    "raw": "(a) raw socket loop",
    "noop": "(b) two no-op keywords",
    "kit": "(c) Send + Reply Should Be",
    "telnet": "(d) Telnet Write/Read/Equal",
    "tests": "(e) a test: open, round trip, close",
    "message": "(f) no-op + no-op logging a line",
    "exchange": "(g) Exchange",
}
# Ratios taken round by round: (numerator, denominator) -> label.
RATIOS = {
    ("kit", "telnet"): "(c)/(d) kit vs Telnet",
    ("kit", "noop"): "(c)/(b) kit vs RF floor",
    ("exchange", "telnet"): "(g)/(d) Exchange vs Telnet (<= 0.35)",
}
DEFAULT_VARIANTS = ["raw", "noop", "kit", "telnet", "exchange"]


def run(
    suite: Path, test: str, address: tuple[str, int], iterations: int, env: dict[str, str]
) -> tuple[float, float]:
    """Wall and CPU seconds of one robot run."""
    with tempfile.TemporaryDirectory() as out:
        if test == "Tests":
            suite = Path(out) / "tests.robot"
            tests = "".join(SHORT_TEST.format(n=n) for n in range(iterations))
            suite.write_text(SHORT_TESTS + tests)
            test = "Tests *"
        cpu_before = _children_cpu()
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
            env=env,
        )
        return time.perf_counter() - started, _children_cpu() - cpu_before


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def per_iteration(
    suite: Path, test: str, address: tuple[str, int], n: int, env: dict[str, str]
) -> tuple[float, float]:
    (wall3, cpu3), (wall1, cpu1) = (run(suite, test, address, k * n, env) for k in (3, 1))
    return (wall3 - wall1) / (2 * n), (cpu3 - cpu1) / (2 * n)


def medians(samples: dict[str, list[tuple[float, float]]], which: int) -> dict[str, float]:
    return {name: statistics.median(got[which] for got in runs) for name, runs in samples.items()}


def paired_ratios(
    tops: list[tuple[float, float]], bottoms: list[tuple[float, float]], which: int
) -> list[float]:
    """Ratios of samples taken in the same round, so both sides met the same load."""
    return [top[which] / bottom[which] for top, bottom in zip(tops, bottoms, strict=True)]


def report(title: str, samples: dict[str, list[tuple[float, float]]]) -> None:
    for measure, which in (("wall", 0), ("CPU", 1)):
        median = medians(samples, which)
        count = len(next(iter(samples.values())))
        print(f"{title}, {measure} time per iteration, median of {count}:")
        for name, runs in samples.items():
            spread = ", ".join(f"{sample[which] * 1000:.3f}" for sample in runs)
            print(f"  {VARIANTS[name]:<36} {median[name] * 1000:7.3f} ms   [{spread}]")
        for (top, bottom), label in RATIOS.items():
            if {top, bottom} <= median.keys():
                ratios = paired_ratios(samples[top], samples[bottom], which)
                spread = ", ".join(f"{ratio:.2f}" for ratio in ratios)
                print(f"  {label:<36} {statistics.median(ratios):.2f}   [{spread}]")
        if {"message", "noop"} <= median.keys():
            cost = (median["message"] - median["noop"]) * 1e6
            print(f"  (f)-(b) one log message            {cost:.0f} us")


def compare(kits: list[str], samples: dict[str, dict[str, list[tuple[float, float]]]]) -> None:
    """This checkout over the other, variant by variant: the median of per-round ratios."""
    ours, theirs = (samples[kit] for kit in kits)
    for measure, which in (("wall", 0), ("CPU", 1)):
        ratios = ", ".join(
            f"{name} {statistics.median(paired_ratios(ours[name], theirs[name], which)):.3f}"
            for name in ours
        )
        print(f"this checkout / {kits[1]}, {measure} time: {ratios}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--iterations", type=int, default=3000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--against", type=Path, help="another checkout to compare with")
    parser.add_argument(
        "--only",
        action="append",
        choices=list(VARIANTS),
        help="run only this variant (repeatable); default: " + ", ".join(DEFAULT_VARIANTS),
    )
    args = parser.parse_args()
    variants = args.only or DEFAULT_VARIANTS
    here = Path(__file__).resolve().parent
    kits = {"this checkout": dict(os.environ)}
    if args.against:
        other = args.against.resolve()
        kits[str(other)] = {**os.environ, "PYTHONPATH": f"{other / 'keywords'}:{other}"}
    with tempfile.TemporaryDirectory() as folder, serve("echo") as address:
        suite = Path(folder) / "round_trip.robot"
        suite.write_text(SUITE.format(root=ROOT, here=here))
        samples = {kit: {name: [] for name in variants} for kit in kits}
        for _ in range(args.repeat):  # interleaved, so drift hits every variant alike
            for name in variants:
                for kit, env in kits.items():
                    samples[kit][name].append(
                        per_iteration(suite, name.capitalize(), address, args.iterations, env)
                    )
    print(f"N={args.iterations} vs 3N")
    for kit, got in samples.items():
        report(kit, got)
    if args.against:
        compare(list(kits), samples)


if __name__ == "__main__":
    main()
