"""Run a command under resource limits: ``limits.py --cpu S --memory MB --output MB -- CMD...``.

The grader puts this in front of every student command. It lowers the priority, so that a
submission that burns CPU slows the graders' clocks as little as possible, sets the
limits, and replaces itself with the command. Standard library only: it runs from the
submission's folder, where the kit's packages are not importable.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys

MB = 1024 * 1024


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="limits.py", description=__doc__)
    parser.add_argument("--cpu", type=int, required=True, help="CPU seconds")
    parser.add_argument("--memory", type=int, required=True, help="address space, MB")
    parser.add_argument("--output", type=int, required=True, help="largest file written, MB")
    parser.add_argument("--nice", type=int, default=10)
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("no command given")
    os.nice(args.nice)
    resource.setrlimit(resource.RLIMIT_CPU, (args.cpu, args.cpu + 1))
    resource.setrlimit(resource.RLIMIT_AS, (args.memory * MB, args.memory * MB))
    resource.setrlimit(resource.RLIMIT_FSIZE, (args.output * MB, args.output * MB))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    try:
        os.execvp(command[0], command)
    except OSError as error:
        print(f"limits.py: cannot run {command[0]}: {error.strerror}", file=sys.stderr)
        return 127
    return 0  # not reached: execvp replaced this process


if __name__ == "__main__":
    sys.exit(main())
