"""Processes under test: own process group, output to a file, readiness from the OS, no orphans.

Readiness is read from ``/proc/net`` (the port is bound, as the kernel sees it), so
checking it never takes a connection from a single-client server. Every process started
here carries a token in its environment; ``stop()`` sweeps ``/proc`` for that token, which
also finds children that left the process group (``setsid``, double fork). This is how
Jenkins finds a build's leftover processes. Linux only.
"""

from __future__ import annotations

import ipaddress
import os
import select
import shlex
import signal
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import IO

TOKEN_VARIABLE = "SOCKETLIBRARY_PROCESS_TOKEN"
_LISTEN = "0A"  # TCP_LISTEN in /proc/net/tcp
_UNCONNECTED = "07"  # TCP_CLOSE: how a bound, unconnected UDP socket shows in /proc/net/udp
_WILDCARDS = {ipaddress.ip_address("0.0.0.0"), ipaddress.ip_address("::")}


def describe_exit(code: int) -> str:
    """``exited with code 1``, or ``was killed by SIGXFSZ (File size limit exceeded)``."""
    if code >= 0:
        return f"exited with code {code}"
    try:
        name = signal.Signals(-code).name
    except ValueError:
        return f"was killed by signal {-code}"
    return f"was killed by {name} ({signal.strsignal(-code)})"


class ProcessError(Exception):
    """A process could not be started, did not become ready, or could not be stopped."""


@dataclass(frozen=True)
class BoundSocket:
    protocol: str
    ip: ipaddress.IPv4Address | ipaddress.IPv6Address
    port: int
    inode: int

    def __str__(self) -> str:
        ip = f"[{self.ip}]" if self.ip.version == 6 else str(self.ip)
        return f"{self.protocol} {ip}:{self.port}"

    def reachable_at(self, host: str) -> bool:
        """Whether a client connecting to ``host`` reaches this socket."""
        if self.ip in _WILDCARDS:
            return True
        try:
            wanted = ipaddress.ip_address(host.strip("[]"))
        except ValueError:
            return True  # a host name: let the connection itself decide
        mapped = getattr(self.ip, "ipv4_mapped", None)
        return wanted in (self.ip, mapped)


def _proc_address(text: str) -> tuple[ipaddress.IPv4Address | ipaddress.IPv6Address, int]:
    """``0100007F:2EE0`` -> (127.0.0.1, 12000). The kernel prints each 32-bit word in host order."""
    hex_ip, hex_port = text.split(":")
    raw = bytes.fromhex(hex_ip)
    words = b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4))
    if len(words) == 4:
        return ipaddress.IPv4Address(words), int(hex_port, 16)
    return ipaddress.IPv6Address(words), int(hex_port, 16)


def bound_sockets(protocol: str) -> list[BoundSocket]:
    """Listening TCP sockets, or bound unconnected UDP sockets, in this network namespace."""
    state = _LISTEN if protocol == "tcp" else _UNCONNECTED
    found = []
    for table in (f"/proc/net/{protocol}", f"/proc/net/{protocol}6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except FileNotFoundError:
            continue
        for line in lines:
            fields = line.split()
            if fields[3] == state:
                ip, port = _proc_address(fields[1])
                found.append(BoundSocket(protocol, ip, port, int(fields[9])))
    return found


def processes_with_token(token: str) -> list[int]:
    """Live processes whose environment carries ``token`` (zombies have no environment)."""
    prefix = f"{TOKEN_VARIABLE}=".encode()
    wanted = token.encode()
    pids = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            environ = Path(entry.path, "environ").read_bytes()
        except OSError:
            continue
        for variable in environ.split(b"\0"):
            if variable.startswith(prefix) and wanted in variable[len(prefix) :].split():
                pids.append(int(entry.name))
                break
    return pids


def _socket_inodes(pids: list[int]) -> set[int]:
    inodes = set()
    for pid in pids:
        try:
            fds = os.scandir(f"/proc/{pid}/fd")
        except OSError:
            continue
        with fds:
            for fd in fds:
                try:
                    target = os.readlink(fd.path)
                except OSError:
                    continue
                if target.startswith("socket:["):
                    inodes.add(int(target[8:-1]))
    return inodes


def kill_until_gone(find: Callable[[], Iterable[int]]) -> None:
    """SIGKILL every process ``find()`` names, again until it names none."""
    for _ in range(100):  # a forking process can add members while we kill
        pids = set(find())
        if not pids:
            return
        for pid in pids:
            with suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        wait_for_exit(pids, 1.0)


def wait_for_exit(pids: set[int], timeout: float) -> None:
    """Block until every pid has exited or ``timeout`` passed, woken by pidfds, not polling."""
    fds = []
    for pid in pids:
        with suppress(ProcessLookupError):
            fds.append(os.pidfd_open(pid))
    try:
        poller = select.poll()
        for fd in fds:
            poller.register(fd, select.POLLIN)
        pending = set(fds)
        deadline = time.monotonic() + timeout
        while pending and (remaining := deadline - time.monotonic()) > 0:
            for fd, _event in poller.poll(remaining * 1000):
                pending.discard(fd)
                poller.unregister(fd)
    finally:
        for fd in fds:
            os.close(fd)


def split_command(command: str | list[str]) -> list[str]:
    """Split like a shell would, without running one: ``sh -c '...'`` for shell syntax."""
    args = shlex.split(command) if isinstance(command, str) else list(command)
    if not args:
        raise ValueError("the command is empty")
    return args


class ManagedProcess:
    """A process in its own session and process group, writing to ``output_path``.

    ``launcher``, when given, is put in front of the command (the grader's sandbox); the
    process started is then the launcher, but ``args`` and every message name only the
    command. ``error_path`` keeps stderr apart from stdout (a client's streams are checked
    one by one). With ``stdin=True`` its standard input is a pipe, ``popen.stdin``, that
    an ``InputFeeder`` writes; otherwise it reads nothing.
    """

    def __init__(
        self,
        command: str | list[str],
        output_path: str | Path,
        *,
        cwd: str | Path | None = None,
        env: Mapping[str, str] | None = None,
        launcher: list[str] | None = None,
        error_path: str | Path | None = None,
        stdin: bool = False,
    ) -> None:
        self.args = split_command(command)
        self.launcher = list(launcher or [])
        self.output_path = Path(output_path)
        self.error_path = Path(error_path) if error_path else None
        self.token = uuid.uuid4().hex
        environment = dict(os.environ if env is None else env)
        # Tokens accumulate down the tree, so a process started by a managed process (a
        # grader's robot starting a student server) is swept by both.
        inherited = environment.get(TOKEN_VARIABLE, "")
        environment[TOKEN_VARIABLE] = f"{inherited} {self.token}".strip()
        self.started_at = time.monotonic()
        self.stopped = False  # set once stop() was asked for: an exit after that is expected
        with (
            open(self.output_path, "wb") as output,
            open(self.error_path or os.devnull, "wb") as errors,
        ):
            try:
                self.popen = subprocess.Popen(
                    [*self.launcher, *self.args],
                    cwd=cwd,
                    env=environment,
                    stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
                    stdout=output,
                    stderr=errors if self.error_path else subprocess.STDOUT,
                    start_new_session=True,
                )
            except OSError as error:
                raise ProcessError(
                    f"cannot run {shlex.join(self.args)}: {error.strerror}"
                ) from None

    @property
    def pid(self) -> int:
        return self.popen.pid

    @property
    def exit_code(self) -> int | None:
        return self.popen.poll()

    def members(self) -> list[int]:
        """Every live process started from this one, wherever it moved."""
        return processes_with_token(self.token)

    def wait_until_bound(
        self, port: int, protocol: str = "tcp", host: str = "127.0.0.1", timeout: float = 10.0
    ) -> BoundSocket:
        """Wait until one of this process's sockets is bound to ``port`` (any port if 0).

        Fails at once when the process exits with an error, and after ``timeout`` with the
        most useful reason found: a port taken by another process, a wrong port or address.
        """
        deadline = time.monotonic() + timeout
        pause = 0.002
        while True:
            members = self.members()  # a scan of every process's environment: once a look
            inodes = _socket_inodes(members)
            ours = self._bound(inodes, port, protocol)
            reachable = [bound for bound in ours if bound.reachable_at(host)]
            if reachable:
                return reachable[0]
            code = self.popen.poll()
            if code is not None and (code != 0 or not members):
                raise ProcessError(
                    f"{describe_exit(code)} before listening on {protocol} port {port or '(any)'}"
                )
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return self._last_look(port, protocol, host, timeout)
            if code is None:
                with suppress(subprocess.TimeoutExpired):  # wakes early if the process exits
                    self.popen.wait(timeout=min(pause, remaining))
            else:  # it exited, leaving what it started (``server &``): wait on those
                wait_for_exit(set(members), min(pause, remaining))
            # Until it holds a socket, a look costs little (no table read): look often.
            pause = min(pause * 2, 0.05 if inodes else 0.01)

    def bound(self, port: int, protocol: str = "tcp") -> bool:
        """Whether a socket of this process (or of one it started) is still bound to ``port``."""
        return bool(self._bound(_socket_inodes(self.members()), port, protocol))

    @staticmethod
    def _bound(inodes: set[int], port: int, protocol: str) -> list[BoundSocket]:
        """Which of these sockets are bound to ``port`` (any if 0)."""
        if not inodes:  # the tables cost a walk of the kernel's whole hash, ~5 ms each
            return []
        return [b for b in bound_sockets(protocol) if port in (0, b.port) and b.inode in inodes]

    def _last_look(self, port: int, protocol: str, host: str, timeout: float) -> BoundSocket:
        """At the timeout, one more look with the whole tables: the socket, if it has just
        come, else the most useful reason why not."""
        inodes = _socket_inodes(self.members())
        table = bound_sockets(protocol)
        mine = [b for b in table if b.inode in inodes]
        ours = [b for b in mine if port in (0, b.port)]
        if reachable := [b for b in ours if b.reachable_at(host)]:
            return reachable[0]
        if ours:
            reason = (
                f"listens on {', '.join(map(str, ours))}, which a client of {host} cannot "
                f"reach (bind to {host} or 0.0.0.0)"
            )
        elif port and any(b.port == port for b in table):
            reason = f"{protocol} port {port} is taken by another process"
        else:
            elsewhere = f"; it listens on {', '.join(map(str, mine))} instead" if mine else ""
            reason = f"did not listen on {protocol} port {port or '(any)'} within {timeout:g}s"
            reason += elsewhere
        raise ProcessError(reason)

    def alive(self) -> set[int]:
        pids = set(self.members())
        if self.popen.poll() is None:
            pids.add(self.popen.pid)
        return pids

    def stop(self, grace: float = 2.0) -> int:
        """TERM the group and every member, KILL what is left after ``grace``.

        Returns the exit code of the process that was started."""
        self.stopped = True
        self._signal_all(signal.SIGTERM)
        wait_for_exit(self.alive(), grace)
        for _ in range(100):  # a forking process can add members while we kill
            survivors = self.alive()
            if not survivors:
                break
            self._signal_all(signal.SIGKILL)
            wait_for_exit(survivors, 1.0)
        else:
            raise ProcessError(f"processes {sorted(self.alive())} survived SIGKILL")
        return self.popen.wait(timeout=5)

    def _signal_all(self, signum: int) -> None:
        """Signal the process group and every token member."""
        with suppress(ProcessLookupError, PermissionError):
            os.killpg(self.popen.pid, signum)
        for pid in self.members():
            with suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signum)

    def output_tail(
        self, max_lines: int = 20, max_bytes: int = 4000, *, errors: bool = False
    ) -> str:
        """The last lines the process wrote: stdout and stderr together, or only stderr
        (``errors``) when it was kept apart."""
        path = self.error_path if errors else self.output_path
        if path is None:
            return ""
        try:
            with open(path, "rb") as output:
                size = output.seek(0, os.SEEK_END)
                output.seek(max(size - max_bytes, 0))
                data = output.read()
        except OSError:
            return ""
        lines = data.decode("utf-8", errors="replace").splitlines()
        if size > max_bytes and lines:
            lines = lines[1:]  # the first line was cut by the byte limit
        return "\n".join(lines[-max_lines:])


class InputFeeder:
    """Writes pieces of input to a process's stdin pipe, ``delay`` seconds apart, then
    closes it (end of input), on a thread of its own, so that a process that reads slowly
    or not at all never blocks the caller. ``stop()`` ends it at once, and the pipe is
    closed whatever happens; a process that exits early simply gets no more."""

    def __init__(self, pipe: IO[bytes], pieces: list[bytes], delay: float = 0.0) -> None:
        self._pipe = pipe
        self._pieces = pieces
        self._delay = delay
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._feed, name="stdin-feeder", daemon=True)
        self._thread.start()

    def _feed(self) -> None:
        try:
            for number, piece in enumerate(self._pieces):
                # The pause between lines is the behaviour under test (a slow typist).
                if number and self._delay and self._stopped.wait(self._delay):
                    return
                self._pipe.write(piece)
                self._pipe.flush()
        except (BrokenPipeError, ValueError, OSError):
            pass  # the process has exited or closed its stdin: it reads no more
        finally:
            with suppress(OSError, ValueError):
                self._pipe.close()

    def stop(self, timeout: float = 1.0) -> None:
        """End the feeding and wait for the thread. Stop the process first: a write that
        is blocked on a full pipe then fails at once, as its reader has gone."""
        self._stopped.set()
        self._thread.join(timeout)

    @property
    def running(self) -> bool:
        return self._thread.is_alive()
