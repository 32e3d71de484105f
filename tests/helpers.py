"""Helpers shared by the tests: bounded socket reads and polls, and one way each to run
``robot``, the grader and a keyword library."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from robot.api import ExecutionResult, ResultVisitor

from services.runner import Server
from SocketLibrary import SocketLibrary
from SocketLibrary.processes import TOKEN_VARIABLE, processes_with_token

ROOT = Path(__file__).resolve().parent.parent
SUITES = ROOT / "suites"

CTIME = rb"[A-Z][a-z]{2} [A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d \d{4}"
CTIME_LENGTH = 24


def recv_exactly(sock: socket.socket, count: int, timeout: float = 5.0) -> bytes:
    """Read exactly ``count`` bytes however the stream is segmented, or fail."""
    deadline = time.monotonic() + timeout
    data = bytearray()
    while len(data) < count:
        sock.settimeout(max(deadline - time.monotonic(), 0.001))
        chunk = sock.recv(count - len(data))
        assert chunk, f"peer closed after {bytes(data)!r}, {count - len(data)} bytes short"
        data += chunk
    return bytes(data)


def recv_until_closed(sock: socket.socket, timeout: float = 5.0) -> bytes:
    deadline = time.monotonic() + timeout
    data = bytearray()
    while True:
        sock.settimeout(max(deadline - time.monotonic(), 0.001))
        chunk = sock.recv(65536)
        if not chunk:
            return bytes(data)
        data += chunk


def wait_until(condition: Callable[[], bool], timeout: float = 5.0, what: str = "") -> None:
    """A bounded poll for state that offers no signal to wait on (thread counts, /proc)."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out after {timeout}s waiting for {what}"
        time.sleep(0.01)


@contextmanager
def serve_on_ipv6_loopback(name: str) -> Iterator[tuple[str, int]]:
    """``services.serve`` on ``::1``; skips the test where this machine has no IPv6."""
    try:
        server = Server(name, "::1", 0)
    except OSError as error:
        pytest.skip(f"no IPv6 loopback here: {error}")
    with server:
        yield server.host, server.port


def tcp_connect(address: tuple[str, int], timeout: float = 5.0) -> socket.socket:
    return socket.create_connection(address, timeout=timeout)


def reset(sock: socket.socket) -> None:
    """Close with an RST instead of a FIN (SO_LINGER on, zero timeout)."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    sock.close()


def prefix_pattern(name: str) -> bytes:
    """The regexp of what a stream behaviour puts before each chunk it answers."""
    return {"echo": rb"Echo=>", "banner_echo": rb"OK\.\.\.", "timestamp": CTIME}[name]


def reply_length(name: str, message: bytes) -> int:
    return {"echo": 6, "banner_echo": 5, "timestamp": CTIME_LENGTH}[name] + len(message)


def assert_reply(name: str, reply: bytes, message: bytes) -> None:
    assert re.fullmatch(prefix_pattern(name) + re.escape(message), reply, re.DOTALL), (
        f"{name} answered {message!r} with {reply!r}"
    )


def processes_working_in(folder: Path) -> list[str]:
    """Live processes whose working directory is inside ``folder``: leftovers of a test."""
    left = []
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                cwd = os.readlink(f"/proc/{entry.name}/cwd")
                command = Path(f"/proc/{entry.name}/cmdline").read_bytes().replace(b"\0", b" ")
            except OSError:
                continue
            if cwd.startswith(str(folder)):
                left.append(f"{entry.name}: {command.decode(errors='replace')}")
    return left


def mark_processes(monkeypatch: pytest.MonkeyPatch) -> str:
    """A token that every process started from the test inherits, sandboxed or not.

    Sandboxed servers work in their own copy of the submission, so ``processes_working_in``
    cannot find them; ``leftovers(token)`` can."""
    token = f"test-{uuid.uuid4().hex}"
    monkeypatch.setenv(TOKEN_VARIABLE, token)
    return token


def leftovers(token: str, command: str = "") -> list[int]:
    """Live processes carrying ``token`` (the test's own excepted) whose command line
    starts with ``command``, such as ``python3 server.py``."""
    found = []
    for pid in processes_with_token(token):
        try:
            line = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except (OSError, UnicodeDecodeError):
            continue
        if pid != os.getpid() and line.startswith(command):
            found.append(pid)
    return found


class _MessageTexts(ResultVisitor):
    def __init__(self) -> None:
        self.texts: list[str] = []

    def visit_message(self, message) -> None:
        self.texts.append(message.message)


def logged_messages(result: ExecutionResult) -> list[str]:
    """Every message a run logged, in every test and keyword, in order."""
    visitor = _MessageTexts()
    result.visit(visitor)
    return visitor.texts


def run_robot(
    suite: str | Path,
    outputdir: Path,
    variables: dict[str, str] | None = None,
    *,
    env: dict[str, str] | None = None,
    cwd: Path = ROOT,
    log: bool = False,
    timeout: float = 120,
) -> ExecutionResult:
    """Run ``robot`` on a bundled suite (by behaviour name) or a path; return its results.

    It runs in its own process, as CI and graders run it; without ``log``, only output.xml
    is written.
    """
    path = SUITES / f"{suite}.robot" if isinstance(suite, str) else suite
    command = [sys.executable, "-m", "robot", "--outputdir", str(outputdir), "--console", "none"]
    if not log:
        command += ["--log", "NONE", "--report", "NONE"]
    for name, value in (variables or {}).items():
        command += ["--variable", f"{name}:{value}"]
    subprocess.run(
        [*command, str(path)],
        cwd=cwd,
        env={**os.environ, **(env or {})},
        timeout=timeout,
        check=False,
    )
    return ExecutionResult(str(outputdir / "output.xml"))


def failed_tests(result: ExecutionResult) -> set[str]:
    return {test.name for test in result.suite.all_tests if test.status == "FAIL"}


def skipped_tests(result: ExecutionResult) -> set[str]:
    return {test.name for test in result.suite.all_tests if test.status == "SKIP"}


def run_grader(*arguments: str | Path, timeout: float = 240) -> subprocess.CompletedProcess:
    """``python -m grading ARGUMENTS...`` in its own process, its output captured as text."""
    return subprocess.run(
        [sys.executable, "-m", "grading", *map(str, arguments)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def schema(platform: str) -> dict:
    """The JSON Schema of a platform's results, written from its published specification."""
    return json.loads((ROOT / "grading" / "schemas" / f"{platform}.schema.json").read_text())


@contextmanager
def keyword_library(**options: object) -> Iterator[SocketLibrary]:
    """A SocketLibrary outside Robot, torn down as a suite's teardown would do it."""
    library = SocketLibrary(**options)
    try:
        yield library
    finally:
        library.close_all_connections()
        library.stop_all_clients()
        library.stop_all_servers()


def verdict_differences(
    result: ExecutionResult, tests: set[str], failed: set[str], skipped: set[str]
) -> str:
    """How a run differs from the tests it should run, fail and skip; empty when exact."""
    problems = []
    ran = {test.name for test in result.suite.all_tests}
    if ran != tests:
        problems.append(f"ran {sorted(ran)}")
    actually_failed = failed_tests(result)
    if actually_failed != failed:
        wrongly_failed = {
            test.name: test.message
            for test in result.suite.all_tests
            if test.name in actually_failed - failed
        }
        problems.append(
            f"failed unexpectedly: {wrongly_failed}; "
            f"passed unexpectedly: {sorted(failed - actually_failed)}"
        )
    actually_skipped = skipped_tests(result)
    if actually_skipped != skipped:
        problems.append(f"skipped {sorted(actually_skipped)} instead of {sorted(skipped)}")
    return "; ".join(problems)
