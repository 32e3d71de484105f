"""The judge's process 1: ``judge.py [--loopback]`` runs a batch's grading jobs.

The grader starts one judge per batch, inside a fresh PID namespace (``unshare``), and
hands it jobs on stdin, one JSON object per line: ``{"id": ..., "robot": [robot's
arguments], "environment": {...}, "log": path, "time_limit": s, "grace": s}``. For each
it answers one line on stdout when the job has ended, ``{"id": ..., "code": robot's exit
code}`` (124 at the time limit, like ``timeout(1)``). Jobs run side by side.

Robot Framework and the keyword library are imported once, here; each job runs in a
process forked from this one, so it starts without importing them again: that is most of
what starting ``robot`` costs. With ``--loopback`` each job gets a network namespace of its
own with ``lo`` up, so every submission can listen on the same port, however the one
before it left that port (TIME_WAIT), and a TCP table of its own, small, so that reading
its ``/proc/net/tcp`` (as the library does while it waits for a server to bind) does not
walk the host's table. At the time limit a job is stopped the way Ctrl-C
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
import time
import traceback
from dataclasses import dataclass
from pathlib import Path

TIMED_OUT = 124
_SIOCGIFFLAGS, _SIOCSIFFLAGS, _IFF_UP = 0x8913, 0x8914, 0x1
_CLONE_NEWNET = 0x40000000
# A new network namespace shares the host's TCP hash table unless this is set (Linux 6.1+);
# listing a namespace's sockets walks the whole table (262,144 buckets on this 24 GB machine):
# 10 ms of CPU per read of /proc/net/tcp and tcp6, against 0.2 ms for a table of its own.
_CHILD_TCP_TABLE = "/proc/sys/net/ipv4/tcp_child_ehash_entries"
_JOB_TCP_BUCKETS = 1024  # a job opens tens of connections; any number fits, in longer chains
# Linux derives these from the table's size; a job keeps the judge's.
_TCP_LIMITS = ("/proc/sys/net/ipv4/tcp_max_syn_backlog", "/proc/sys/net/ipv4/tcp_max_tw_buckets")


def bring_loopback_up() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        request = struct.pack("16sh", b"lo", 0)
        flags = struct.unpack("16sh", fcntl.ioctl(sock, _SIOCGIFFLAGS, request))[1]
        fcntl.ioctl(sock, _SIOCSIFFLAGS, struct.pack("16sh", b"lo", flags | _IFF_UP))


def small_tcp_tables() -> dict[str, str]:
    """Give every network namespace made from now on a small TCP table of its own; return
    the limits it must then be given to keep this namespace's (none where Linux cannot)."""
    try:
        limits = {path: Path(path).read_text() for path in _TCP_LIMITS}
        Path(_CHILD_TCP_TABLE).write_text(str(_JOB_TCP_BUCKETS))
    except OSError:  # before Linux 6.1: jobs share the host's table, as they did
        return {}
    return limits


def own_network(tcp_limits: dict[str, str]) -> None:
    """Move this (single-threaded) process into a new network namespace, ``lo`` up, with
    ``tcp_limits`` (from :func:`small_tcp_tables`)."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.unshare(_CLONE_NEWNET) != 0:
        raise OSError(ctypes.get_errno(), os.strerror(ctypes.get_errno()))
    for path, value in tcp_limits.items():
        Path(path).write_text(value)
    bring_loopback_up()


def start_job(job: dict, loopback: dict[str, str] | None) -> int:
    """Fork robot with the job's arguments, writing its console to the job's log."""
    child = os.fork()
    if child:
        return child
    code = 255
    try:
        from robot import run_cli  # noqa: PLC0415 - imported by main() before any job

        log = os.open(job["log"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
        os.dup2(log, 1)
        os.dup2(log, 2)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        if loopback is not None:
            own_network(loopback)
        os.environ.update(job["environment"])
        code = run_cli(job["robot"], exit=False)
    except BaseException:  # written to the job's log, never to the grader's pipe
        traceback.print_exc()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


@dataclass
class Running:
    job: dict
    pid: int
    pidfd: int
    deadline: float
    stopping: bool = False  # SIGINT was sent at the time limit


def serve(loopback: dict[str, str] | None) -> None:
    """Take jobs from stdin and report each one's end on stdout, until stdin closes and
    the last job has ended. ``loopback``: a network of its own per job, with these TCP
    limits (None: the judge's network)."""
    running: dict[int, Running] = {}  # by pidfd
    taking, pending = True, b""
    while taking or running:
        now = time.monotonic()
        wait = min((job.deadline - now for job in running.values()), default=None)
        inputs = [0, *running] if taking else list(running)
        ready = select.select(inputs, [], [], None if wait is None else max(wait, 0))[0]
        if 0 in ready:
            data = os.read(0, 65536)  # not sys.stdin: its buffer would hide lines from select
            taking = bool(data)
            pending += data
            while b"\n" in pending:
                line, pending = pending.split(b"\n", 1)
                job = json.loads(line)
                pid = start_job(job, loopback)
                fd = os.pidfd_open(pid)
                running[fd] = Running(job, pid, fd, time.monotonic() + job["time_limit"])
        for fd in [fd for fd in ready if fd in running]:
            ended = running.pop(fd)
            os.close(fd)
            code = os.waitstatus_to_exitcode(os.waitpid(ended.pid, 0)[1])
            report(ended.job, TIMED_OUT if ended.stopping else code)
        for job in [job for job in running.values() if job.deadline <= time.monotonic()]:
            stop_at_time_limit(job)
        reap_orphans({job.pid for job in running.values()})


def stop_at_time_limit(job: Running) -> None:
    if job.stopping:  # the grace period is over too
        os.kill(job.pid, signal.SIGKILL)
        job.deadline = float("inf")
        return
    with open(job.job["log"], "a") as log:
        log.write(f"judge.py: time limit of {job.job['time_limit']:g}s reached, stopping\n")
    os.kill(job.pid, signal.SIGINT)
    job.stopping = True
    job.deadline = time.monotonic() + job.job["grace"]


def report(job: dict, code: int) -> None:
    print(json.dumps({"id": job["id"], "code": code}), flush=True)


def reap_orphans(jobs: set[int]) -> None:
    """As process 1, this judge inherits what jobs left behind: reap what has ended,
    but not a running job, whose end its pidfd reports."""
    while True:
        try:
            status = os.waitid(os.P_ALL, 0, os.WEXITED | os.WNOHANG | os.WNOWAIT)
        except ChildProcessError:
            return
        if status is None or status.si_pid in jobs:
            return
        os.waitpid(status.si_pid, 0)


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

    # In the judge's own network namespace only: the host's settings stay as they are.
    serve(small_tcp_tables() if args.loopback else None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
