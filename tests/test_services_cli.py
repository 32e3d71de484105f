"""``python -m services``: the LISTENING line, --list, bind errors and signals."""

from __future__ import annotations

import ctypes
import os
import selectors
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from services import BEHAVIOURS
from services.protocols import BANNER
from tests.helpers import recv_exactly, recv_until_closed, wait_until

# Starts processes: left out of the quick loop, pytest -m "not slow".
pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent


def read_line(stream, timeout: float = 10.0) -> str:
    """The next line from a pipe, waiting at most ``timeout`` for it."""
    with selectors.DefaultSelector() as selector:
        selector.register(stream, selectors.EVENT_READ)
        assert selector.select(timeout), f"no line within {timeout}s"
    return stream.readline().decode()


@pytest.fixture
def start(tmp_path):
    """Start ``python -m services ARGS`` in its own process group; kill the group afterwards."""
    started: list[subprocess.Popen] = []

    def _start(*args: str) -> subprocess.Popen:
        stderr = open(tmp_path / f"stderr-{len(started)}.log", "wb")  # noqa: SIM115
        process = subprocess.Popen(
            [sys.executable, "-m", "services", *args],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=stderr,
            start_new_session=True,
        )
        stderr.close()
        process.stderr_path = Path(stderr.name)
        started.append(process)
        return process

    yield _start
    for process in started:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=5)
        process.stdout.close()


@pytest.mark.parametrize("name", BEHAVIOURS)
def test_first_line_is_listening_with_the_real_port(start, name):
    process = start(name, "--port", "0")
    line = read_line(process.stdout)
    transport = BEHAVIOURS[name].transport
    prefix = f"LISTENING {transport} 127.0.0.1:"
    assert line.startswith(prefix) and line.endswith("\n")
    port = int(line[len(prefix) :])
    assert 0 < port < 65536


def test_echo_answers_over_the_network(start):
    process = start("echo", "--port", "0")
    port = int(read_line(process.stdout).rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(b"hi")
        assert recv_exactly(sock, 8) == b"Echo=>hi"


def test_uppercase_with_encoding_option(start):
    process = start("uppercase", "--port", "0", "--encoding", "gbk")
    port = int(read_line(process.stdout).rsplit(":", 1)[1])
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(5)
        sock.sendto("中文 abc".encode("gbk"), ("127.0.0.1", port))
        assert sock.recv(100) == "中文 ABC".encode("gbk")


def connection_lines(process: subprocess.Popen) -> list[str]:
    """The server's per-connection log lines (a stop may add lines of its own)."""
    return [line for line in process.stderr_path.read_text().splitlines() if "chunk(s)" in line]


def test_one_log_line_per_connection_on_stderr(start):
    process = start("echo", "--port", "0")
    port = int(read_line(process.stdout).rsplit(":", 1)[1])
    for _ in range(3):
        with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
            sock.sendall(b"x")
            recv_exactly(sock, 7)
    process.send_signal(signal.SIGTERM)  # at once: the last conversation may not have ended
    assert process.wait(timeout=5) == 0
    lines = connection_lines(process)
    assert len(lines) == 3, lines
    assert all("1 chunk(s), client closed" in line for line in lines)


def test_a_stop_lets_an_open_connection_finish(start):
    process = start("echo", "--port", "0", "--stop-grace", "60")
    port = int(read_line(process.stdout).rsplit(":", 1)[1])
    client = socket.create_connection(("127.0.0.1", port), timeout=5)
    client.sendall(b"before")
    recv_exactly(client, 12)
    process.send_signal(signal.SIGTERM)
    wait_until(
        lambda: "stopping: 1 open connection(s) get up to 60s" in process.stderr_path.read_text(),
        what="the server to announce its stop",
    )
    with pytest.raises(ConnectionRefusedError):  # it accepts nobody new
        socket.create_connection(("127.0.0.1", port), timeout=5)
    client.sendall(b"during the stop")  # but the open conversation goes on
    assert recv_exactly(client, 21) == b"Echo=>during the stop"
    client.close()
    assert process.wait(timeout=10) == 0, "it exits once the conversation ends, not at 60s"
    assert connection_lines(process)[-1].endswith(": 2 chunk(s), client closed")


def test_a_stop_cuts_an_idle_connection_after_the_grace(start):
    process = start("banner_echo", "--port", "0", "--stop-grace", "0.5")
    port = int(read_line(process.stdout).rsplit(":", 1)[1])
    idle = socket.create_connection(("127.0.0.1", port), timeout=5)
    recv_exactly(idle, len(BANNER))  # accepted: its conversation is open
    signalled = time.monotonic()
    process.send_signal(signal.SIGTERM)
    assert recv_until_closed(idle, timeout=10) == b"", "the server closes it"
    assert time.monotonic() - signalled >= 0.5, "cut before the grace was over"
    assert process.wait(timeout=10) == 0
    idle.close()
    log = process.stderr_path.read_text()
    assert "stopping: cutting 1 connection(s) still open after 0.5s" in log
    assert connection_lines(process)[-1].endswith(": 0 chunk(s), cut short by the server's stop")


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_signal_stops_the_server_with_exit_code_0(start, signum):
    process = start("banner_echo", "--port", "0", "--stop-grace", "0")
    port = int(read_line(process.stdout).rsplit(":", 1)[1])
    client = socket.create_connection(("127.0.0.1", port), timeout=5)  # an open conversation
    process.send_signal(signum)
    # It takes about 0.1 s; the bound is loose so that a loaded CI machine cannot flake it.
    assert process.wait(timeout=5) == 0
    client.close()


def send_signal_to_thread(pid: int, tid: int, signum: int) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.tgkill(pid, tid, signum) != 0:
        raise OSError(ctypes.get_errno(), f"tgkill {pid} {tid}")


@pytest.mark.parametrize("thread", [0, 1, 2], ids=["main", "other-1", "other-2"])
def test_a_stop_signal_delivered_to_any_thread_stops_the_server(start, thread):
    # A process-directed signal lands on whichever thread the kernel picks; aim it instead.
    process = start("banner_echo", "--port", "0", "--stop-grace", "0")
    port = int(read_line(process.stdout).rsplit(":", 1)[1])
    client = socket.create_connection(("127.0.0.1", port), timeout=5)
    recv_exactly(client, len(BANNER))  # the conversation's thread is running
    others = sorted(int(task.name) for task in Path(f"/proc/{process.pid}/task").iterdir())
    others.remove(process.pid)
    assert len(others) == 2, others  # the serving thread and the conversation's
    send_signal_to_thread(process.pid, [process.pid, *others][thread], signal.SIGTERM)
    assert process.wait(timeout=5) == 0
    client.close()


def test_ipv6_host_is_bracketed(start):
    process = start("echo", "--host", "::1", "--port", "0")
    line = read_line(process.stdout)
    if not line:
        pytest.skip("cannot bind ::1 here: " + process.stderr_path.read_text())
    assert line.startswith("LISTENING tcp [::1]:")


@pytest.mark.parametrize(
    ("name", "kind"), [("echo", socket.SOCK_STREAM), ("uppercase", socket.SOCK_DGRAM)]
)
def test_port_in_use_is_one_error_line_and_exit_code_2(start, name, kind):
    with socket.socket(socket.AF_INET, kind) as taken:
        taken.bind(("127.0.0.1", 0))
        if kind == socket.SOCK_STREAM:
            taken.listen()
        port = taken.getsockname()[1]
        process = start(name, "--port", str(port))
        assert process.wait(timeout=10) == 2
    assert process.stdout.read() == b""
    error = process.stderr_path.read_text()
    assert error == f"{name}: cannot listen on 127.0.0.1 port {port}: Address already in use\n"


def test_default_host_is_loopback_only(start):
    process = start("echo", "--port", "0")
    assert read_line(process.stdout).startswith("LISTENING tcp 127.0.0.1:")


def test_list_prints_each_behaviour_with_its_contract():
    result = subprocess.run(
        [sys.executable, "-m", "services", "--list"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=10,
        check=True,
    )
    lines = result.stdout.splitlines()
    assert [line.split()[0] for line in lines] == list(BEHAVIOURS)
    assert "udp 12000" in lines[0] and "STRASSE" in lines[0]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "name a behaviour, or use --list"),
        (["nonsense"], "invalid choice: 'nonsense'"),
        (["echo", "--encoding", "gbk"], "unrecognized arguments: --encoding gbk"),
        (
            ["welcome_timeout", "--idle-timeout", "-1"],
            "argument --idle-timeout: idle timeout must be a positive number of seconds, not '-1'",
        ),
        (["timestamp", "--format", "iso"], "invalid choice: 'iso'"),
        (
            ["echo", "--stop-grace", "-1"],
            "argument --stop-grace: the stop grace must be 0 or more seconds, not '-1'",
        ),
    ],
)
def test_usage_errors(args, message):
    result = subprocess.run(
        [sys.executable, "-m", "services", *args],
        check=False,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=10,
    )
    assert result.returncode == 2
    assert message in result.stderr


def test_unix_socket_listening_line(start, tmp_path):
    path = tmp_path / "s.sock"
    process = start("echo", "--host", f"unix:{path}")
    assert read_line(process.stdout) == f"LISTENING unix {path}\n"
    with socket.socket(socket.AF_UNIX) as sock:
        sock.settimeout(5)
        sock.connect(str(path))
        sock.sendall(b"u")
        assert recv_exactly(sock, 7) == b"Echo=>u"
