"""Time to grade a class of 40 welcome_timeout submissions: default --jobs versus --jobs 1.

The class cycles through the shipped samples (correct, slow, split, buggy and hostile),
so it has the mix a real class has. Run: python benchmarks/grading_speedup.py [--size 40]

``--baseline CHECKOUT`` instead compares this checkout's grader with another one's (an
older commit, e.g. ``git worktree add /tmp/before main``) on the same class, default
--jobs, alternating between the two for ``--rounds`` rounds, and prints the medians and
their ratio: ``python benchmarks/grading_speedup.py --baseline /tmp/before --size 11``.
"""

from __future__ import annotations

import argparse
import csv
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from itertools import cycle, islice
from pathlib import Path

from grading.grade import default_jobs

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = sorted((ROOT / "grading" / "examples" / "welcome_timeout").iterdir())


def make_class(folder: Path, size: int) -> list[Path]:
    submissions = []
    for number, sample in enumerate(islice(cycle(SAMPLES), size), 1):
        target = folder / f"student{number:03d}_{sample.name}"
        shutil.copytree(sample, target)
        submissions.append(target)
    return submissions


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def grade(
    submissions: list[Path], out: Path, jobs: int, checkout: Path = ROOT
) -> tuple[float, float]:
    """Seconds to grade the class, and the CPU seconds it took (grader, judge, sandboxes
    and the students' servers); the verdicts are left in ``out/summary.csv``."""
    environment = dict(os.environ)
    if checkout != ROOT:  # its own grader and keyword library, ahead of the installed ones
        environment["PYTHONPATH"] = f"{checkout / 'keywords'}:{checkout}"
    started, cpu = time.monotonic(), children_cpu()
    subprocess.run(
        [
            sys.executable,
            "-m",
            "grading",
            "--suite",
            "welcome_timeout",
            "--port",
            "8001",
            "--cmd",
            "python3 server.py",
            "--outputdir",
            str(out),
            "--jobs",
            str(jobs),
            *map(str, submissions),
        ],
        cwd=checkout,
        env=environment,
        check=True,
        capture_output=True,
    )
    return time.monotonic() - started, children_cpu() - cpu


def verdict_counts(out: Path) -> list[tuple[str, ...]]:
    """Status and counts per submission; reasons may quote timings, so they are left out."""
    with open(out / "summary.csv", newline="") as file:
        return [
            (row["submission"], row["status"], row["passed"], row["failed"])
            for row in csv.DictReader(file)
        ]


def compare(submissions: list[Path], folder: Path, baseline: Path, rounds: int) -> None:
    """This checkout's grader against ``baseline``'s, alternating, median of ``rounds``."""
    times: dict[str, list[float]] = {"baseline": [], "this checkout": []}
    verdicts = {}
    for number in range(rounds):
        for label, checkout in (("baseline", baseline), ("this checkout", ROOT)):
            out = folder / f"out-{label.replace(' ', '-')}-{number}"
            times[label].append(grade(submissions, out, default_jobs(), checkout)[0])
            verdicts[label] = verdict_counts(out)
    before, after = (statistics.median(times[label]) for label in times)
    print(f"{len(submissions)} welcome_timeout submissions on {os.cpu_count()} cores, ", end="")
    print(f"--jobs {default_jobs()}, median of {rounds} alternating rounds")
    for label, seconds in times.items():
        print(f"  {label:>13}: {statistics.median(seconds):6.1f} s  (runs: ", end="")
        print(", ".join(f"{value:.1f}" for value in seconds) + ")")
    same = verdicts["baseline"] == verdicts["this checkout"]
    print(f"  ratio {after / before:.2f}x; " + ("same verdicts" if same else "VERDICTS DIFFER"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size", type=int, default=40)
    parser.add_argument("--jobs", type=int, nargs="*", default=[default_jobs(), 1])
    parser.add_argument("--baseline", type=Path, help="another checkout to compare with")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    if args.baseline:
        with tempfile.TemporaryDirectory() as folder:
            submissions = make_class(Path(folder) / "class", args.size)
            compare(submissions, Path(folder), args.baseline.resolve(), args.rounds)
        return
    with tempfile.TemporaryDirectory() as folder:
        submissions = make_class(Path(folder) / "class", args.size)
        times, cpu, verdicts = {}, {}, {}
        for jobs in args.jobs:
            out = Path(folder) / f"out-{jobs}"
            times[jobs], cpu[jobs] = grade(submissions, out, jobs)
            verdicts[jobs] = verdict_counts(out)
    serial = times.get(1)
    print(f"{args.size} welcome_timeout submissions on {os.cpu_count()} cores")
    for jobs, seconds in times.items():
        ratio = f"  speed-up {serial / seconds:.1f}x" if serial else ""
        same = (
            ""
            if serial is None
            else (
                "  same verdicts as --jobs 1"
                if verdicts[jobs] == verdicts[1]
                else "  VERDICTS DIFFER from --jobs 1"
            )
        )
        each = f"{seconds / args.size:.2f} s each, {cpu[jobs] / args.size:.2f} s of CPU"
        print(f"  --jobs {jobs:>2}: {seconds:6.1f} s  ({each}){ratio}{same}")


if __name__ == "__main__":
    main()
