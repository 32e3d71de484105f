"""The judge's process 1: ``judge.py [--loopback]`` runs grading jobs, one after another.

The grader starts one judge per job slot, inside a fresh network and PID namespace
(``unshare``), and hands it jobs on stdin, one JSON object per line:
``{"robot": [robot's arguments], "environment": {...}, "log": path, "time_limit": s,
"grace": s}``. For each it answers one line on stdout, ``{"code": robot's exit code}``
(124 at the time limit, like ``timeout(1)``).

Robot Framework and the keyword library are imported once, here; each job runs in a
process forked from this one, so it starts without importing them again: that is most of
what starting ``robot`` costs. With ``--loopback`` each job gets a network namespace of its
own with ``lo`` up, so every submission can listen on the same port, however the one
before it left that port (TIME_WAIT). At the time limit the job is stopped the way Ctrl-C
stops robot, so that it still writes its results, and killed after the grace period.
When the judge exits, the kernel kills every process left in its PID namespace.
"""

from __future__ import annotations

import argparse
import ctypes
import fcntl
import json
import os
import select
import signal
import socket
import struct
import sys
import traceback

TIMED_OUT = 124
_SIOCGIFFLAGS, _SIOCSIFFLAGS, _IFF_UP = 0x8913, 0x8914, 0x1
_CLONE_NEWNET = 0x40000000


def bring_loopback_up() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        request = struct.pack("16sh", b"lo", 0)
        flags = struct.unpack("16sh", fcntl.ioctl(sock, _SIOCGIFFLAGS, request))[1]
        fcntl.ioctl(sock, _SIOCSIFFLAGS, struct.pack("16sh", b"lo", flags | _IFF_UP))


def own_network() -> None:
    """Move this (single-threaded) process into a new network namespace, ``lo`` up."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.unshare(_CLONE_NEWNET) != 0:
        raise OSError(ctypes.get_errno(), os.strerror(ctypes.get_errno()))
    bring_loopback_up()


def run_job(job: dict, loopback: bool) -> int:
    """Run robot with the job's arguments in a child process; its exit code."""
    from robot import run_cli  # noqa: PLC0415 - imported by main() before any job

    child = os.fork()
    if child == 0:  # the job: robot, writing its console to the job's log
        code = 255
        try:
            log = os.open(job["log"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            devnull = os.open(os.devnull, os.O_RDONLY)
            os.dup2(devnull, 0)
            os.dup2(log, 1)
            os.dup2(log, 2)
            signal.signal(signal.SIGINT, signal.default_int_handler)
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            if loopback:
                own_network()
            os.environ.update(job["environment"])
            code = run_cli(job["robot"], exit=False)
        except BaseException:  # written to the job's log, never to the grader's pipe
            traceback.print_exc()
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)
    return wait_for_job(child, job["time_limit"], job["grace"], job["log"])


def wait_for_job(child: int, time_limit: float, grace: float, log: str) -> int:
    pidfd = os.pidfd_open(child)
    try:
        if not select.select([pidfd], [], [], time_limit)[0]:
            with open(log, "a") as file:
                file.write(f"judge.py: time limit of {time_limit:g}s reached, stopping\n")
            os.kill(child, signal.SIGINT)
            if not select.select([pidfd], [], [], grace)[0]:
                os.kill(child, signal.SIGKILL)
            os.waitpid(child, 0)
            return TIMED_OUT
        return os.waitstatus_to_exitcode(os.waitpid(child, 0)[1])
    finally:
        os.close(pidfd)
        reap_orphans()


def reap_orphans() -> None:
    """As process 1, this judge inherits what jobs left behind: reap what has ended."""
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="judge.py", description=__doc__)
    parser.add_argument("--loopback", action="store_true", help="a network of its own per job")
    args = parser.parse_args(argv)
    # Process 1 gets no default signal handling: a stop request ends the judge, and with
    # it (the kernel sees to that) every job in its PID namespace.
    signal.signal(signal.SIGTERM, lambda *_: os._exit(143))
    signal.signal(signal.SIGINT, lambda *_: os._exit(130))
    # Loaded once, here: every job forked from now on has them.
    import robot.running  # noqa: F401, PLC0415

    import grading.listener  # noqa: F401, PLC0415
    import SocketLibrary.library  # noqa: F401, PLC0415

    for line in sys.stdin:
        job = json.loads(line)
        print(json.dumps({"code": run_job(job, args.loopback)}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
