"""The README's promises: its example suite runs, and CI runs its commands."""

from __future__ import annotations

import re

import pytest

from tests import peers
from tests.helpers import ROOT, run_robot

# Starts processes: left out of the quick loop, pytest -m "not slow".
pytestmark = pytest.mark.slow

README = (ROOT / "README.md").read_text()


def fenced(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", README, re.DOTALL)


def example(starts_with: str) -> str:
    (block,) = [block for block in fenced("robotframework") if starts_with in block]
    return block


def test_the_example_suite_runs(tmp_path):
    (tmp_path / "my_tests").mkdir()
    (tmp_path / "my_tests" / "echo.robot").write_text(example("Start Echo Server"))
    result = run_robot(tmp_path / "my_tests", tmp_path / "out", cwd=tmp_path, timeout=60)
    assert [(test.name, test.status) for test in result.suite.all_tests] == [
        ("Echo Answers Every Message", "PASS"),
        ("Two Clients Are Served Side By Side", "PASS"),
    ]


def test_the_line_protocol_example_runs(tmp_path):
    (tmp_path / "kv.robot").write_text(example("newline=CRLF"))
    with peers.peer(peers.key_value_store) as (_host, port):
        result = run_robot(tmp_path / "kv.robot", tmp_path / "out", {"PORT": str(port)})
    assert [(test.name, test.status, test.message) for test in result.suite.all_tests] == [
        ("A Stored Value Is Read Back", "PASS", "")
    ]


def test_the_client_example_runs(tmp_path):
    (tmp_path / "my_tests").mkdir()
    (tmp_path / "my_tests" / "echo_client.robot").write_text(example("Listen For The Client"))
    result = run_robot(tmp_path / "my_tests", tmp_path / "out", cwd=tmp_path, timeout=60)
    assert [(test.name, test.status) for test in result.suite.all_tests] == [
        ("The Client Sends Each Message And Prints Each Reply", "PASS"),
        ("The Client Sends The Lines Typed On Its Stdin", "PASS"),
    ]


def test_the_custom_assignment_shown_is_the_one_shipped():
    (suite,) = fenced("robot")
    assert suite == (ROOT / "grading" / "examples" / "kv" / "kv.robot").read_text()


def test_ci_runs_the_readme_commands():
    commands = [
        block.strip() for block in fenced("sh") if "pip install -r requirements.txt" in block
    ]
    suites, tests = commands
    ci = (ROOT / ".ci" / "run").read_text()
    assert suites.split(" && ")[1] in ci
    assert tests.split(" && ")[1] in ci
