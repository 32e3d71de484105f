"""Grading a class of clients: the student's client runs in the sandbox, exactly as a
student's server does, and the suite's listening side stays on the judge's side of the
private loopback."""

from __future__ import annotations

import csv
import sys

import pytest

from grading import launcher
from SocketLibrary import handoff
from SocketLibrary.handoff import client_launcher
from tests.helpers import ROOT, leftovers, mark_processes, run_grader, wait_until

pytestmark = pytest.mark.slow

CLASS = ROOT / "grading" / "examples" / "echo_client"
GRADE = ["--suite", "clients/echo", "--port", "0", "--cmd", "python3 client.py"]
SCORES = {
    "alice": (6, 0),
    "bob_newline": (4, 2),
    "carol_one_recv": (4, 2),
    "dave_hard_coded_port": (1, 5),
    "erin_never_closes": (5, 1),
    # Correct; the process it leaves behind is killed when its client exits.
    "frank_leaves_a_daemon": (6, 0),
    "gina_syntax_error": (1, 5),
}


def summary(out) -> dict[str, dict[str, str]]:
    with open(out / "summary.csv", newline="") as rows:
        return {row["submission"]: row for row in csv.DictReader(rows)}


@pytest.mark.parametrize("isolation", ["sandbox", "none"])
def test_a_class_of_clients_is_graded(tmp_path, monkeypatch, isolation):
    token = mark_processes(monkeypatch)
    out = tmp_path / "out"
    result = run_grader(
        *GRADE, "--isolation", isolation, "--outputdir", out, *sorted(CLASS.iterdir())
    )
    assert result.returncode == 0, result.stderr
    wait_until(lambda: not leftovers(token), 5, "nothing left running")
    rows = summary(out)
    scores = {name: (int(row["passed"]), int(row["failed"])) for name, row in rows.items()}
    assert scores == SCORES
    assert {row["status"] for row in rows.values()} == {"graded"}
    assert rows["dave_hard_coded_port"]["reason"].endswith(
        "the client exited with code 1 without connecting"
    )
    # The student's output is kept with its report, stdout and stderr apart.
    assert "SyntaxError" in "".join(
        path.read_text() for path in (out / "gina_syntax_error").glob("client-*.stderr.log")
    )


def test_the_library_and_the_launcher_agree_on_the_clients_option():
    assert handoff.ENDS_WITH_COMMAND == launcher.ENDS_WITH_COMMAND
    command = [sys.executable, "launcher.py", "--cpu", "60", "--"]
    assert client_launcher(command) == [*command[:-1], launcher.ENDS_WITH_COMMAND, "--"]
    assert client_launcher([]) == []
