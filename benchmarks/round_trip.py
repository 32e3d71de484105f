"""Cost of one checked round trip inside Robot Framework, with output.xml and log.html on.

Four ways to do the same request and check, each run as a plain ``robot`` suite:
  (a) raw   - a Python loop over a socket inside one keyword: the floor;
  (b) noop  - two calls of a no-op keyword from a trivial library: RF's own floor;
  (c) kit   - SocketLibrary ``Send`` + ``Reply Should Be``;
  (d) telnet- the Telnet library: ``Write Bare`` + ``Read Until`` + ``Should Be Equal``;
  (e) exchange - SocketLibrary ``Exchange``: the same send and check in one call.
The cost per iteration is (time of 3N iterations - time of N) / 2N, so start-up cancels.
Each measurement is repeated; medians and ratios are printed, of the wall time and of the
CPU time the robot process used (steadier on a shared, loaded machine).

``--against CHECKOUT`` runs every variant also with the kit of another checkout (for
example the main branch), interleaved, so a change is compared under the same load.

Run: python benchmarks/round_trip.py [--iterations 3000] [--repeat 3] [--against DIR]
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

Kit
    Open TCP Connection    ${{HOST}}    ${{PORT}}
    FOR    ${{i}}    IN RANGE    ${{N}}
        Send    ping\\n
        Reply Should Be    Echo=>ping\\n
    END

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
VARIANTS = {
    "raw": "(a) raw socket loop",
    "noop": "(b) two no-op keywords",
    "kit": "(c) Send + Reply Should Be",
    "telnet": "(d) Telnet Write/Read/Equal",
    "exchange": "(e) Exchange",
}


def run(
    suite: Path, test: str, address: tuple[str, int], iterations: int, env: dict[str, str]
) -> tuple[float, float]:
    """Wall and CPU seconds of one robot run."""
    with tempfile.TemporaryDirectory() as out:
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


def report(title: str, samples: dict[str, list[tuple[float, float]]]) -> None:
    for measure, which in (("wall", 0), ("CPU", 1)):
        values = {name: [sample[which] for sample in got] for name, got in samples.items()}
        median = {name: statistics.median(got) for name, got in values.items()}
        print(f"{title}, {measure} time per iteration, median of {len(values['kit'])}:")
        for name, label in VARIANTS.items():
            spread = ", ".join(f"{value * 1000:.3f}" for value in values[name])
            print(f"  {label:<30} {median[name] * 1000:7.3f} ms   [{spread}]")
        print(
            f"  (c)/(d) kit vs Telnet     {median['kit'] / median['telnet']:.2f}  (target <= 0.6)"
        )
        print(f"  (c)/(b) kit vs RF floor   {median['kit'] / median['noop']:.2f}  (target <= 1.3)")
        print(
            f"  (e)/(d) Exchange vs Telnet {median['exchange'] / median['telnet']:.2f}"
            "  (target <= 0.35)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--iterations", type=int, default=3000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--against", type=Path, help="another checkout to compare with")
    args = parser.parse_args()
    here = Path(__file__).resolve().parent
    kits = {"this checkout": dict(os.environ)}
    if args.against:
        other = args.against.resolve()
        kits[str(other)] = {**os.environ, "PYTHONPATH": f"{other / 'keywords'}:{other}"}
    with tempfile.TemporaryDirectory() as folder, serve("echo") as address:
        suite = Path(folder) / "round_trip.robot"
        suite.write_text(SUITE.format(root=ROOT, here=here))
        samples = {kit: {name: [] for name in VARIANTS} for kit in kits}
        for _ in range(args.repeat):  # interleaved, so drift hits every variant alike
            for name in VARIANTS:
                for kit, env in kits.items():
                    samples[kit][name].append(
                        per_iteration(suite, name.capitalize(), address, args.iterations, env)
                    )
    print(f"N={args.iterations} vs 3N")
    for kit, got in samples.items():
        report(kit, got)


if __name__ == "__main__":
    main()
