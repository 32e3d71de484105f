"""The judge's process 1: ``judge.py --time-limit S [--loopback] -- CMD`` runs one grading job.

Inside a fresh network and PID namespace (``unshare``), this is process 1 of the judge's
side (robot and the keyword library; student servers run in sandboxes below it): ``--loopback``
brings ``lo`` up, and when it exits the kernel kills every process left in the
namespace. At the time limit it stops the command the way Ctrl-C does (so
Robot Framework still writes its results), kills it after a grace period, and exits with
code 124, like ``timeout(1)``. Standard library only.
"""

from __future__ import annotations

import argparse
import fcntl
import signal
import socket
import struct
import subprocess
import sys

TIMED_OUT = 124
_SIOCGIFFLAGS, _SIOCSIFFLAGS, _IFF_UP = 0x8913, 0x8914, 0x1


def bring_loopback_up() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        request = struct.pack("16sh", b"lo", 0)
        flags = struct.unpack("16sh", fcntl.ioctl(sock, _SIOCGIFFLAGS, request))[1]
        fcntl.ioctl(sock, _SIOCSIFFLAGS, struct.pack("16sh", b"lo", flags | _IFF_UP))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="judge.py", description=__doc__)
    parser.add_argument("--time-limit", type=float, required=True)
    parser.add_argument("--grace", type=float, default=15.0)
    parser.add_argument("--loopback", action="store_true")
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if args.loopback:
        bring_loopback_up()
    job = subprocess.Popen(command)
    # Process 1 gets no default signal handling: pass a stop request on explicitly.
    signal.signal(signal.SIGTERM, lambda *_: job.send_signal(signal.SIGINT))
    try:
        return job.wait(timeout=args.time_limit)
    except subprocess.TimeoutExpired:
        print(f"judge.py: time limit of {args.time_limit:g}s reached, stopping", flush=True)
        job.send_signal(signal.SIGINT)
        try:
            job.wait(timeout=args.grace)
        except subprocess.TimeoutExpired:
            job.kill()
            job.wait()
        return TIMED_OUT


if __name__ == "__main__":
    sys.exit(main())
