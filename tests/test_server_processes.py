"""Start Server / Stop Server: readiness from the OS, clear reasons, no process left behind."""

from __future__ import annotations

import gc
import socket
import sys
import textwrap
import time
from pathlib import Path

import pytest

from SocketLibrary import SocketFailure, SocketLibrary
from SocketLibrary.processes import processes_with_token
from tests.helpers import recv_exactly, wait_until

# Starts processes: left out of the quick loop, pytest -m "not slow".
pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable


def script(tmp_path: Path, body: str, name: str = "server.py") -> str:
    """Write a small server program and return the command that runs it."""
    path = tmp_path / name
    path.write_text(textwrap.dedent(body))
    return f"{PYTHON} {path}"


def alive(pid: int) -> bool:
    """Running, not a zombie waiting to be reaped."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


LISTEN_THEN = """
    import os, signal, socket, sys, time
    sock = socket.socket()
    sock.bind(("127.0.0.1", int(sys.argv[1]) if len(sys.argv) > 1 else 0))
    sock.listen()
    print("listening", flush=True)
"""


def test_reference_server_on_port_0(lib):
    port = lib.start_server(f"{PYTHON} -m services echo --port 0", 0, cwd=str(ROOT))
    # Ready means listening; the server prints its LISTENING line a moment after.
    wait_until(lambda: f"LISTENING tcp 127.0.0.1:{port}" in lib.get_server_output())
    lib.open_tcp_connection("127.0.0.1", port)
    lib.send("hi")
    lib.reply_should_be("Echo=>hi")
    server = lib._servers.current
    assert lib.stop_server() == 0
    assert processes_with_token(server.token) == []


def test_udp_server(lib):
    port = lib.start_server(
        f"{PYTHON} -m services uppercase --port 0", 0, protocol="udp", cwd=str(ROOT)
    )
    lib.open_udp_connection("127.0.0.1", port)
    lib.send("udp")
    lib.reply_should_be("UDP")


def test_readiness_does_not_use_up_a_single_client_server(lib, tmp_path):
    command = script(
        tmp_path,
        LISTEN_THEN
        + """
    conn, _ = sock.accept()
    conn.sendall(b"you are my only client")
    conn.close()
    """,
    )
    port = lib.start_server(command, 0)
    with socket.create_connection(("127.0.0.1", port), timeout=5) as client:
        assert recv_exactly(client, 22) == b"you are my only client"


def test_server_that_ignores_term_is_killed(lib, tmp_path):
    command = script(
        tmp_path,
        LISTEN_THEN
        + """
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    while True:
        signal.pause()
    """,
    )
    lib.start_server(command, 0)
    server = lib._servers.current
    assert lib.stop_server(grace="200ms") == -9
    assert not alive(server.pid)
    assert processes_with_token(server.token) == []


def test_children_that_leave_the_process_group_are_stopped(lib, tmp_path):
    command = script(
        tmp_path,
        f"""
    import os, signal, socket
    ready, told = os.pipe()
    if os.fork() == 0:
        os.setsid()
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        open({str(tmp_path / "child.pid")!r}, "w").write(str(os.getpid()))
        os.write(told, b"!")
        while True:
            signal.pause()
    os.read(ready, 1)
    """
        + LISTEN_THEN
        + """
    signal.pause()
    """,
    )
    lib.start_server(command, 0)
    child = int((tmp_path / "child.pid").read_text())
    assert alive(child)
    lib.stop_server(grace="200ms")
    assert not alive(child)


def test_daemon_that_double_forks_then_exits_is_ready_and_stopped(lib, tmp_path):
    command = script(
        tmp_path,
        f"""
    import os, signal, socket, sys
    if os.fork():
        sys.exit(0)
    os.setsid()
    if os.fork():
        os._exit(0)
    open({str(tmp_path / "daemon.pid")!r}, "w").write(str(os.getpid()))
    """
        + LISTEN_THEN
        + """
    signal.pause()
    """,
    )
    port = lib.start_server(command, 0)
    daemon = int((tmp_path / "daemon.pid").read_text())
    socket.create_connection(("127.0.0.1", port), timeout=5).close()
    lib.stop_server()
    assert not alive(daemon)


def test_server_that_exits_at_once(lib, tmp_path):
    command = script(
        tmp_path,
        """
    import sys
    print("Traceback: something broke", file=sys.stderr)
    sys.exit(3)
    """,
    )
    started = time.monotonic()
    with pytest.raises(SocketFailure) as failure:
        lib.start_server(command, 12999)
    assert time.monotonic() - started < 5, "an exit is noticed at once, not at the timeout"
    assert str(failure.value) == (
        "server did not start: exited with code 3 before listening "
        "on tcp port 12999\nIts output ends with:\n"
        "Traceback: something broke"
    )


def test_syntax_error(lib, tmp_path):
    command = script(tmp_path, "def broken(:\n")
    with pytest.raises(SocketFailure, match=r"(?s)exited with code 1 .*SyntaxError"):
        lib.start_server(command, 12999)


def test_server_that_never_binds(lib, tmp_path):
    command = script(
        tmp_path,
        """
    import signal
    signal.pause()
    """,
    )
    with pytest.raises(SocketFailure) as failure:
        lib.start_server(command, 12999, ready_timeout="300ms")
    assert str(failure.value) == (
        "server did not start: did not listen on tcp port 12999 within 0.3s\nIt printed nothing."
    )


def test_port_already_taken_by_another_process(lib, tmp_path):
    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen()
        port = other.getsockname()[1]
        with pytest.raises(SocketFailure) as failure:
            lib.start_server(script(tmp_path, LISTEN_THEN), port)
    assert str(failure.value) == (
        f"server did not start: tcp port {port} is already in use by another process"
    )


def test_server_on_the_wrong_port(lib, tmp_path):
    command = script(tmp_path, LISTEN_THEN + "    signal.pause()\n")
    with pytest.raises(SocketFailure) as failure:
        # time enough to bind, even on a loaded machine: the reason names what it bound
        lib.start_server(command, 12998, ready_timeout="2s")
    assert "did not listen on tcp port 12998 within 2s; it listens on tcp 127.0.0.1:" in str(
        failure.value
    )


def test_server_on_an_address_the_client_cannot_reach(lib, tmp_path):
    command = script(
        tmp_path,
        """
    import signal, socket
    sock = socket.socket()
    sock.bind(("127.0.0.2", 0))
    sock.listen()
    signal.pause()
    """,
    )
    with pytest.raises(SocketFailure) as failure:
        lib.start_server(command, 0, ready_timeout="2s")
    assert "listens on tcp 127.0.0.2:" in str(failure.value)
    assert "which a client of 127.0.0.1 cannot reach (bind to 127.0.0.1 or 0.0.0.0)" in str(
        failure.value
    )


def test_server_should_be_running(lib, tmp_path):
    command = script(
        tmp_path,
        LISTEN_THEN
        + """
    sock.accept()
    print("bye")
    """,
    )
    port = lib.start_server(command, 0)
    lib.server_should_be_running()
    socket.create_connection(("127.0.0.1", port), timeout=5).close()
    lib._servers.current.popen.wait(timeout=5)
    with pytest.raises(SocketFailure) as failure:
        lib.server_should_be_running()
    assert str(failure.value).endswith("exited with code 0. Its output ends with:\nlistening\nbye")


def test_cwd_and_env(lib, tmp_path):
    command = script(
        tmp_path,
        LISTEN_THEN
        + """
    print(os.getcwd(), os.environ["GREETING"], flush=True)
    signal.pause()
    """,
    )
    lib.start_server(command, 0, cwd=str(tmp_path), env={"GREETING": "hello"})
    # printed after it listens, so it may come a moment after Start Server returns
    wait_until(lambda: lib.get_server_output().endswith(f"{tmp_path} hello"))


def test_suite_end_stops_servers_left_running(tmp_path):
    library = SocketLibrary()
    library.start_server(script(tmp_path, LISTEN_THEN + "    signal.pause()\n"), 0)
    server = library._servers.current
    del library  # as Robot drops a suite's library instance when the suite ends
    gc.collect()
    assert not alive(server.pid)


def test_bad_arguments(lib):
    with pytest.raises(ValueError, match="protocol must be tcp or udp, not 'sctp'"):
        lib.start_server("true", 1, protocol="sctp")
    with pytest.raises(ValueError, match="the command is empty"):
        lib.start_server("  ", 1)
    with pytest.raises(SocketFailure, match="server did not start: cannot run no-such-program"):
        lib.start_server("no-such-program --flag", 12997)


def test_failures_name_a_started_server_that_died(lib, tmp_path):
    command = script(
        tmp_path,
        LISTEN_THEN
        + """
    conn, _ = sock.accept()
    os.kill(os.getpid(), signal.SIGKILL)
    """,
    )
    port = lib.start_server(command, 0)
    lib.open_tcp_connection("127.0.0.1", port)
    lib._servers.current.popen.wait(timeout=5)
    with pytest.raises(SocketFailure) as failure:
        lib.open_tcp_connection("127.0.0.1", port)
    assert str(failure.value) == (
        f"Connection refused by 127.0.0.1:{port}\nThe server {command} "
        f"was killed by SIGKILL (Killed)."
    )
