"""``python -m grading --suite NAME --port P --cmd CMD --outputdir OUT [options] DIR...``

and ``python -m grading merge --outputdir MERGED OUT...`` for sharded runs.
Exit code 0 means grading completed, whatever the scores; 2 is a usage error; 130 means
Ctrl-C or SIGTERM stopped it, after killing the running jobs and summarising what was graded.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .grade import (
    INTERRUPTED,
    Interrupted,
    Settings,
    default_jobs,
    grade_all,
    merge,
    namespaces_available,
    shard,
)

SUITES = Path(__file__).resolve().parent.parent / "suites"
EXIT_INTERRUPTED = 130


def grade_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m grading",
        description="Grade student servers: run a suite against each submission folder. "
        "Use 'python -m grading merge --help' to combine sharded outputs.",
    )
    suites = sorted(path.stem for path in SUITES.glob("*.robot"))
    parser.add_argument("--suite", required=True, choices=suites)
    parser.add_argument(
        "--port",
        type=int,
        required=True,
        help="the port the servers listen on, as the assignment says",
    )
    parser.add_argument(
        "--cmd",
        required=True,
        help="command that starts a server; it runs in the submission's "
        "folder, and {dir} stands for that folder",
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
        "--cpu-limit", type=int, default=60, help="CPU seconds for a student server (default 60)"
    )
    parser.add_argument(
        "--memory-limit",
        type=int,
        default=1024,
        help="address space of a student server, MB (default 1024)",
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
        choices=["auto", "namespaces", "none"],
        default="auto",
        help="network namespaces per submission (auto: where available)",
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
    if argv[:1] == ["merge"]:
        args = merge_parser().parse_args(argv[1:])
        missing = [str(out) for out in args.outputs if not out.is_dir()]
        if missing:
            merge_parser().error(f"not an output folder: {', '.join(missing)}")
        verdicts = merge(args.outputs, args.outputdir)
        print(f"Merged {len(verdicts)} submissions into {args.outputdir}/summary.html")
        return 0

    parser = grade_parser()
    args = parser.parse_args(argv)
    problems = [f"not a folder: {path}" for path in args.submissions if not path.is_dir()]
    names = [path.resolve().name for path in args.submissions]
    problems += [
        f"two submissions are named {name}" for name in set(names) if names.count(name) > 1
    ]
    if args.jobs < 1:
        problems.append("--jobs must be at least 1")
    try:
        submissions = shard([path.resolve() for path in args.submissions], args.shard)
    except ValueError as error:
        problems.append(str(error))
    if problems:
        parser.error("; ".join(problems))

    isolate = args.isolation != "none"
    if isolate:
        available, why = namespaces_available()
        if not available:
            if args.isolation == "namespaces":
                parser.error(f"network namespaces are not available here: {why}")
            print(f"Network namespaces are not available here ({why or 'unshare failed'}).")
            isolate = False
    settings = Settings(
        suite=args.suite,
        port=args.port,
        command=args.cmd,
        outputdir=args.outputdir.resolve(),
        jobs=args.jobs,
        time_limit=args.time_limit,
        include=args.include,
        exclude=args.exclude,
        variables=args.variable,
        cpu_seconds=args.cpu_limit,
        memory_mb=args.memory_limit,
        output_mb=args.output_limit,
        isolate=isolate,
    )
    try:
        verdicts = grade_all(submissions, settings)
    except Interrupted as interruption:
        finished = sum(v.status != INTERRUPTED for v in interruption.verdicts)
        print(
            f"\nInterrupted: {finished} of {len(interruption.verdicts)} submissions finished; "
            f"the rest were stopped: {settings.outputdir}/summary.html"
        )
        return EXIT_INTERRUPTED
    graded = sum(verdict.status == "graded" for verdict in verdicts)
    print(f"{len(verdicts)} submissions, {graded} graded: {settings.outputdir}/summary.html")
    return 0


if __name__ == "__main__":
    sys.exit(main())
