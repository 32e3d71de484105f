"""No process survives: servers that ignore SIGTERM, fork daemons, exit at once or never
bind, started by the suites' SERVER_CMD and by the grader. (Start Server itself is covered
in test_server_processes.py.) Each server runs in its own temporary folder, and afterwards
/proc must show no process working there.
"""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest
from robot.api import ExecutionResult

from tests.helpers import (
    leftovers,
    mark_processes,
    processes_working_in,
    run_grader,
    run_robot,
)

# Starts processes: left out of the quick loop, pytest -m "not slow".
pytestmark = pytest.mark.slow

# Fixed ports, as students use them, stay below the ephemeral range (32768-60999), so that
# no client socket or port-0 server of a parallel test can be holding them.

# A correct echo server on port 0 that ignores SIGTERM and leaves a daemon behind, which
# also ignores SIGTERM and has left the process group and the session.
STUBBORN = """
    import os, signal, socket, sys, threading
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            threading.Event().wait()
        os._exit(0)
    server = socket.socket()
    server.bind(("127.0.0.1", PORT))
    server.listen()

    def serve(conn):
        while data := conn.recv(1024):
            conn.sendall(b"Echo=>" + data)
        conn.close()

    while True:
        conn, _ = server.accept()
        threading.Thread(target=serve, args=(conn,), daemon=True).start()
"""
NEVER_BINDS = """
    import signal, threading
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    threading.Event().wait()
"""
EXITS_AT_ONCE = """
    import sys
    sys.exit("bad configuration")
"""


def submission(folder: Path, body: str, port: int = 0) -> Path:
    folder.mkdir(parents=True)
    (folder / "server.py").write_text(textwrap.dedent(body).replace("PORT", str(port)))
    return folder


def run_echo_suite(folder: Path, out: Path, **variables: str) -> ExecutionResult:
    command = {"SERVER_CMD": f"{sys.executable} server.py", "SERVER_CWD": str(folder)}
    return run_robot("echo", out, {**command, "PORT": "0", **variables}, log=True)


def test_suite_stops_a_server_that_ignores_term_and_its_daemon(tmp_path):
    folder = submission(tmp_path / "stubborn", STUBBORN)
    result = run_echo_suite(folder, tmp_path / "out")
    assert result.suite.statistics.failed == 0
    assert processes_working_in(folder) == []


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (
            NEVER_BINDS,
            "server did not start: did not listen on tcp port 18123 within 1s\nIt printed nothing.",
        ),
        (
            EXITS_AT_ONCE,
            "server did not start: exited with code 1 before listening on tcp port "
            "18123\nIts output ends with:\nbad configuration",
        ),
    ],
)
def test_suite_reports_why_a_server_did_not_start(tmp_path, body, reason):
    folder = submission(tmp_path / "broken", body)
    result = run_echo_suite(folder, tmp_path / "out", PORT="18123", READY_TIMEOUT="1s")
    assert {test.message for test in result.suite.tests} == {
        f"Parent suite setup failed:\n{reason}"
    }
    assert processes_working_in(folder) == []


@pytest.mark.parametrize("isolation", ["none", "sandbox"])
def test_grader_leaves_nothing_running(tmp_path, isolation, monkeypatch):
    token = mark_processes(monkeypatch)
    folders = [
        submission(tmp_path / "class" / "stubborn", STUBBORN, port=18124),
        submission(tmp_path / "class" / "never_binds", NEVER_BINDS),
        submission(tmp_path / "class" / "exits", EXITS_AT_ONCE),
    ]
    result = run_grader(
        "--suite",
        "echo",
        "--port",
        "18124",
        "--cmd",
        f"{sys.executable} server.py",
        "--outputdir",
        tmp_path / "out",
        "--isolation",
        isolation,
        "--variable",
        "READY_TIMEOUT:5s",
        *folders,
        timeout=180,
    )
    assert result.returncode == 0, result.stderr
    summary = (tmp_path / "out" / "summary.csv").read_text().splitlines()
    assert summary[1:] == [
        "exits,0,12,0,0.0,did-not-start,exited with code 1 before listening on tcp port 18124: "
        "bad configuration",
        "never_binds,0,12,0,0.0,did-not-start,did not listen on tcp port 18124 within 5s",
        "stubborn,11,0,1,100.0,graded,",
    ]
    assert processes_working_in(tmp_path / "class") == []
    assert leftovers(token) == []
