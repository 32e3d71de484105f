"""The transcript in a real Robot run: every send and receive is in output.xml / log.html."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from robot.api import ExecutionResult, ResultVisitor

ROOT = Path(__file__).resolve().parent.parent

SUITE = f"""
*** Settings ***
Library    {ROOT}/keywords/SocketLibrary/
Test Teardown    Close All Connections

*** Test Cases ***
Conversation
    ${{port}}=    Start Server    {sys.executable} -m services echo --port 0    0    cwd={ROOT}
    Open TCP Connection    127.0.0.1    ${{port}}    alias=echo
    Send    hello\\n
    Reply Should Be    Echo=>hello\\n
    Send Bytes    ff 00
    Reply Should Be Bytes    45 63 68 6f 3d 3e ff 00

Failure Shows What Arrived
    ${{port}}=    Start Server    {sys.executable} -m services echo --port 0    0    cwd={ROOT}
    Open TCP Connection    127.0.0.1    ${{port}}
    Send    hello
    Reply Should Be    Echo=>HELLO    timeout=1s
"""


class Messages(ResultVisitor):
    def __init__(self) -> None:
        self.by_test: dict[str, list[str]] = {}
        self.test = ""

    def start_test(self, test) -> None:
        self.test = test.name
        self.by_test[test.name] = []

    def visit_message(self, message) -> None:
        self.by_test.setdefault(self.test, []).append(message.message)


def test_transcript_lines_and_failure_message(tmp_path):
    (tmp_path / "transcript.robot").write_text(SUITE)
    subprocess.run(
        [
            sys.executable,
            "-m",
            "robot",
            "--outputdir",
            str(tmp_path / "out"),
            str(tmp_path / "transcript.robot"),
        ],
        capture_output=True,
        timeout=60,
        check=False,
    )
    result = ExecutionResult(str(tmp_path / "out" / "output.xml"))
    assert [test.status for test in result.suite.tests] == ["PASS", "FAIL"]
    messages = Messages()
    result.visit(messages)
    traffic = [m for m in messages.by_test["Conversation"] if re.match(r"echo [→←] ", m)]
    pattern = r"echo (→|←) \+\d+\.\d{3}s (\d+) B (.*)"
    assert [re.fullmatch(pattern, line).group(1, 2, 3) for line in traffic] == [
        ("→", "6", "'hello\\n'"),
        ("←", "12", "'Echo=>hello\\n'"),
        ("→", "2", "hex ff 00"),
        ("←", "8", "hex 45 63 68 6f 3d 3e ff 00"),
    ]
    failed = result.suite.tests[1]
    assert (
        failed.message == "Expected 'Echo=>HELLO' but received 'Echo=>hello' (11 bytes) within 1s"
    )
    assert (tmp_path / "out" / "log.html").exists()
