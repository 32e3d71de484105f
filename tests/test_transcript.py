"""The transcript in a real Robot run: every open, send, receive and close is in log.html."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest
from robot.api import ExecutionResult, ResultVisitor

from tests.helpers import ROOT, run_robot

# Starts processes: left out of the quick loop, pytest -m "not slow".
pytestmark = pytest.mark.slow

SUITE = f"""
*** Settings ***
Library    SocketLibrary
Suite Setup    Start Echo
Test Teardown    Close All Connections

*** Test Cases ***
Conversation
    Open TCP Connection    127.0.0.1    ${{PORT}}    alias=echo
    Send    hello\\n
    Reply Should Be    Echo=>hello\\n
    Send Bytes    ff 00
    Reply Should Be Bytes    45 63 68 6f 3d 3e ff 00

Failure Shows The Conversation Before It
    Open TCP Connection    127.0.0.1    ${{PORT}}
    Send    hello
    Reply Should Be    Echo=>HELLO    timeout=1s

Long Conversations Are Logged In Blocks
    Open TCP Connection    127.0.0.1    ${{PORT}}
    FOR    ${{i}}    IN RANGE    60
        Send    ${{i}}
        Reply Should Be    Echo=>${{i}}
    END

No Teardown
    [Teardown]    NONE
    Open TCP Connection    127.0.0.1    ${{PORT}}    alias=forgotten
    Send    x
    Reply Should Be    Echo=>x

Next Test
    Open TCP Connection    127.0.0.1    ${{PORT}}    alias=next

*** Keywords ***
Start Echo
    ${{port}}    Start Server    {sys.executable} -m services echo --port 0    0    cwd={ROOT}
    VAR    ${{PORT}}    ${{port}}    scope=SUITE
"""
LINE = r"(?P<label>\S+) \+\d+\.\d{3}s (?P<text>.*)"


class Messages(ResultVisitor):
    """Each test's messages, with the keyword each was logged in."""

    def __init__(self) -> None:
        self.by_test: dict[str, list[tuple[str, str]]] = {}
        self.test = ""

    def start_test(self, test) -> None:
        self.test = test.name
        self.by_test[test.name] = []

    def visit_message(self, message) -> None:
        keyword = getattr(message.parent, "name", "")
        self.by_test.setdefault(self.test, []).append((keyword, message.message))


def transcript_lines(message: str) -> list[tuple[str, str]]:
    return [
        re.fullmatch(LINE, line).group("label", "text")
        for line in message.splitlines()
        if not line.startswith("(")
    ]


def run(tmp_path: Path) -> ExecutionResult:
    (tmp_path / "transcript.robot").write_text(SUITE)
    result = run_robot(tmp_path / "transcript.robot", tmp_path / "out", log=True, timeout=60)
    assert (tmp_path / "out" / "log.html").exists()
    return result


def test_transcript(tmp_path):
    result = run(tmp_path)
    assert [test.status for test in result.suite.tests] == ["PASS", "FAIL", "PASS", "PASS", "PASS"]
    messages = Messages()
    result.visit(messages)

    # One block per test, written by the teardown that closes the connections.
    ((keyword, block),) = messages.by_test["Conversation"]
    assert keyword == "Close All Connections"
    lines = transcript_lines(block)
    assert lines[0][0] == "echo"
    assert re.fullmatch(r"opened tcp 127\.0\.0\.1:\d+ → 127\.0\.0\.1:\d+", lines[0][1])
    assert lines[1:] == [
        ("echo", "→ 6 B 'hello\\n'"),
        ("echo", "← 12 B 'Echo=>hello\\n'"),
        ("echo", "→ 2 B hex ff 00"),
        ("echo", "← 8 B hex 45 63 68 6f 3d 3e ff 00"),
        ("echo", "closed"),
    ]

    # A failing keyword first writes the conversation so far, then fails.
    failing = messages.by_test["Failure Shows The Conversation Before It"]
    keyword, block = failing[0]
    assert keyword == "Reply Should Be"
    assert [text for _, text in transcript_lines(block)][1:] == [
        "→ 5 B 'hello'",
        "← 11 B 'Echo=>hello'",
    ]
    assert result.suite.tests[1].message == (
        "Expected 'Echo=>HELLO' but received 'Echo=>hello' (11 bytes) at once"
    )

    # Long conversations come in blocks of 100 lines; nothing is left out.
    blocks = [block for _, block in messages.by_test["Long Conversations Are Logged In Blocks"]]
    assert [len(block.splitlines()) for block in blocks] == [100, 22]
    assert sum(len(transcript_lines(block)) for block in blocks) == 1 + 120 + 1

    # Lines a test left behind are written, marked, before the next test's.
    (keyword, block), _ = messages.by_test["Next Test"]
    assert block.splitlines()[0] == (
        "(From 'No Teardown', whose teardown did not close its connections.)"
    )
    assert [label for label, _ in transcript_lines(block)] == ["forgotten"] * 3
