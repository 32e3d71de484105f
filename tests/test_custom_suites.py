"""Grading with a suite of the teacher's own: the kv sample assignment, end to end.

It lives outside the bundled suites and imports the shared target steps as any suite
would. The grader decides statuses from the library's facts (socketkit-facts.jsonl), so
they hold when a suite names its server (``alias=``) and words its own failures; and each
failed test tells the student first what became of the server.
"""

from __future__ import annotations

import csv
import json
import re
import textwrap
from pathlib import Path

import pytest

from grading.report import read_verdict
from SocketLibrary.facts import FACTS_FILE, FactsError, read_facts
from tests.helpers import ROOT, leftovers, mark_processes, run_grader, run_robot

pytestmark = pytest.mark.slow

KV = ROOT / "grading" / "examples" / "kv"
CLASS = sorted((KV / "class").iterdir())
GRADE = ["--port", "7070", "--cmd", "python3 server.py", "--jobs", "4"]
EMPTY_LINE = "An Empty Line Is An Error"
CRASH = "IndexError: list index out of range"


def summary(out: Path) -> dict[str, dict[str, str]]:
    with open(out / "summary.csv", newline="") as file:
        return {row["submission"]: row for row in csv.DictReader(file)}


def outcomes_of(out: Path, name: str) -> dict[str, dict]:
    verdict = json.loads((out / name / "verdict.json").read_text())
    return {test["name"]: test for test in verdict["tests"]}


def test_a_custom_suite_grades_a_sample_class(tmp_path, monkeypatch):
    token = mark_processes(monkeypatch)
    out = tmp_path / "out"
    result = run_grader("--suite", KV / "kv.robot", *GRADE, "--outputdir", out, *CLASS)
    assert result.returncode == 0, result.stderr
    rows = summary(out)
    verdicts = {
        name: (row["status"], row["passed"], row["failed"], row["score"])
        for name, row in rows.items()
    }
    assert verdicts == {
        "ada": ("graded", "7", "0", "100.0"),
        # two points each for the scenarios, one per row: 6 of 9
        "ben_per_client_store": ("graded", "5", "2", "66.7"),
        "cleo_crashes_on_empty": ("graded", "3", "4", "33.3"),
        "dan_syntax_error": ("did-not-start", "0", "7", "0.0"),
    }
    assert rows["dan_syntax_error"]["reason"] == (
        "exited with code 1 before listening on tcp port 7070: SyntaxError: expected ':'"
    )

    cleo = outcomes_of(out, "cleo_crashes_on_empty")
    assert rows["cleo_crashes_on_empty"]["reason"] == (
        f"{EMPTY_LINE}: your server exited with code 1 during this test; its last output: {CRASH}"
    )
    assert cleo[EMPTY_LINE]["message"].startswith(
        f"your server exited with code 1 during this test; its last output: {CRASH}\n"
    ), "the server's fate first, then what the client saw"
    for later in ("A Stored Value Is Read Back", "A Long Value Is Stored Whole"):
        assert cleo[later]["message"].startswith(
            f"your server exited with code 1 before this test, during {EMPTY_LINE!r}; "
        )
    assert not outcomes_of(out, "ben_per_client_store")["Set Is Acknowledged"]["message"]

    ada = outcomes_of(out, "ada")
    assert ada["Set Is Acknowledged"]["requirement"] == (
        "A new client sends 'SET colour red' as a line and gets 'OK' as a line."
    ), "a row's values, ${KEY} resolved"
    assert ada["A Stored Value Is Read Back"]["requirement"] == (
        "A value stored with SET colour blue is what GET colour answers on the same connection."
    )
    assert ada["A Stored Value Is Read Back"]["points"] == 2.0

    for name in rows:
        shown = (out / name / "verdict.json").read_text() + (
            out / name / "results.json"
        ).read_text()
        for path in (str(ROOT), str(tmp_path), "launcher"):
            assert path not in shown, (name, path)
    page = (out / "summary.html").read_text()
    assert "4 submissions: 3 graded, 1 did-not-start." in page
    assert "Mean score 50.0, over all 4 submissions" in page
    assert leftovers(token) == []


SUITE_OF_ITS_OWN = """
    *** Settings ***
    Documentation       The kv assignment's first rows, with a server of its own naming:
    ...                 it is started with an alias, and a failed start is worded anew.
    Library             SocketLibrary    timeout=2s
    Suite Setup         Start The Student's Server
    Suite Teardown      Stop All Servers
    Test Teardown       Close All Connections
    Test Timeout        30s


    *** Variables ***
    ${SERVER_CMD}       python3 server.py
    ${SERVER_CWD}       .
    ${PORT}             7070


    *** Test Cases ***
    Set Is Acknowledged
        [Documentation]    ``SET a b`` is answered ``OK``.
        Open TCP Connection    127.0.0.1    ${PORT}
        Send    SET a b\\n
        Reply Should Be    OK\\n

    An Empty Line Is An Error
        [Documentation]    An empty line is answered ``ERROR``.
        Open TCP Connection    127.0.0.1    ${PORT}
        Send    \\n
        Reply Should Be    ERROR\\n


    *** Keywords ***
    Start The Student's Server
        [Documentation]    Start the server under test, as "student".
        ${status}    ${message}    Run Keyword And Ignore Error    Start Server    ${SERVER_CMD}
        ...    ${PORT}    alias=student    cwd=${SERVER_CWD}
        IF    $status == 'FAIL'    Fail    Der Server ist nicht gestartet.
"""


def test_statuses_and_cleanup_come_from_facts_not_from_names_or_wording(tmp_path):
    suite = tmp_path / "own.robot"
    suite.write_text(textwrap.dedent(SUITE_OF_ITS_OWN))
    chosen = [KV / "class" / name for name in ("ada", "cleo_crashes_on_empty", "dan_syntax_error")]
    out = tmp_path / "out"
    first = run_grader("--suite", suite, *GRADE, "--outputdir", out, *chosen)
    assert first.returncode == 0, first.stderr
    logs = {
        name: sorted(path.name for path in (out / name).glob("student-*.log"))
        for name in ("ada", "cleo_crashes_on_empty")
    }
    assert all(len(found) == 1 for found in logs.values()), logs

    second = run_grader("--suite", suite, *GRADE, "--outputdir", out, *chosen)
    assert second.returncode == 0, second.stderr
    rows = summary(out)
    assert rows["dan_syntax_error"]["status"] == "did-not-start", "not from the German message"
    assert rows["dan_syntax_error"]["reason"].startswith("exited with code 1 before listening")
    assert rows["ada"]["score"] == "100.0"
    cleo = outcomes_of(out, "cleo_crashes_on_empty")[EMPTY_LINE]["message"]
    assert cleo.startswith(
        f"your server exited with code 1 during this test; its last output: {CRASH}"
    ), "the aliased log was found through the facts"
    for name, earlier in logs.items():
        now = sorted(path.name for path in (out / name).glob("student-*.log"))
        assert len(now) == 1 and now != earlier, "the earlier run's log was cleared"


def test_an_untrustworthy_facts_file_is_an_error_verdict(tmp_path):
    out = tmp_path / "out"
    result = run_grader(
        "--suite", KV / "kv.robot", *GRADE, "--outputdir", out, KV / "class" / "ada"
    )
    assert result.returncode == 0, result.stderr
    facts = out / "ada" / FACTS_FILE
    good = facts.read_text()
    for damage, why in [
        ("{not json", "line 1 is not a fact"),
        (good.replace('"log": "server-', '"log": "../../server-'), "log is not a plain file name"),
        (re.sub(r'"exit_code": (-?\d+)', r'"exit_code": "\1"', good), "exit_code is not an exit"),
        (good + "x" * 1024 * 1024, "is larger than"),
    ]:
        facts.write_text(damage)
        with pytest.raises(FactsError, match=why):
            read_facts(facts)
        verdict = read_verdict("ada", out / "ada", timed_out=False, time_limit=300, seconds=1)
        assert verdict.status == "error" and verdict.tests == []
        assert verdict.reason.startswith(f"its {FACTS_FILE} ")


def test_a_suite_anywhere_imports_the_target_steps(tmp_path):
    """No grader: a suite outside the kit, run from another folder, finds the resource."""
    elsewhere = tmp_path / "course" / "week3"
    elsewhere.mkdir(parents=True)
    (elsewhere / "echo_again.robot").write_text(
        textwrap.dedent(
            """
            *** Settings ***
            Resource            ${{ SocketLibrary.TARGET_RESOURCE }}
            Suite Setup         Start Target Server    echo    tcp
            Suite Teardown      Stop Target Server
            Test Timeout        ${TEST_TIMEOUT}


            *** Test Cases ***
            Echo Answers
                [Documentation]    The bundled echo server answers ``Echo=>hi``.
                Given A Client
                When It Sends The Bytes    68 69
                Then Client "1" Receives "Echo=>hi"
            """
        )
    )
    result = run_robot(elsewhere, tmp_path / "out", cwd=tmp_path)
    assert [(test.name, test.status) for test in result.suite.all_tests] == [
        ("Echo Answers", "PASS")
    ]
    (server,) = read_facts(tmp_path / "out" / FACTS_FILE)
    assert server.started_at and server.stopped and not server.not_started
    assert server.exited_at is None, "it ended when stopped, not on its own"
