"""The new keywords and options as a QA author meets them: in a real ``robot`` run, where
Robot itself decides which ``name=value`` is an option and which is data."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from services import serve
from tests.helpers import run_robot

# Starts robot: left out of the quick loop, pytest -m "not slow".
pytestmark = pytest.mark.slow

SUITE = """\
*** Settings ***
Library           SocketLibrary    timeout=2s
Test Setup        Open TCP Connection    ${HOST}    ${PORT}
Test Teardown     Close All Connections

*** Test Cases ***
Typo In An Open Option
    Open TCP Connection    ${HOST}    ${PORT}    timout=2s

Typo After A Unix Socket Path
    Open TCP Connection    unix:/nowhere.sock    timout=2s

Typo In A Check Option
    Send    hello
    Reply Should Be    Echo=>hello    timout=2s

Typo In A Getter Option
    Send    hello\\n
    Receive Line    timout=2s

Typo In An Exchange Option
    Exchange    hello    Echo=>hello    tiemout=1s

Data With An Equals Sign Is Data
    Send    key=value
    Reply Should Be    Echo=>key=value
    Exchange    a=b    Echo=>a=b
    Send Line    x=y
    Receive Line    ==    Echo=>x=y
    Send    status=ok\\n
    Reply Should Contain    status=ok

Options Still Work
    Open TCP Connection    ${HOST}    ${PORT}    alias=second    timeout=1s    newline=CRLF
    Send Line    hi
    Receive Line    ==    Echo=>hi    timeout=1s
    Exchange    x    Echo=>x    timeout=1s

Validate Operator
    Send Line    hello
    ${line} =    Receive Line    validate    value.startswith('Echo=>') and len(value) == 11
    Should Be Equal    ${line}    Echo=>hello

Then Operator Returns The Evaluated Value
    Send Line    42
    ${number} =    Receive Line    then    int(value[6:]) + 1
    Should Be Equal As Integers    ${number}    43

Binary Value Is Logged As Hex
    Send Bytes    ff 00 0a
    ${raw} =    Receive Exactly    9    as_bytes=True
    Should Be Equal    ${raw}    ${{b'Echo=>\\xff\\x00\\n'}}

Mismatch Already Buffered Is Seen At Once
    Send    hellO
    Run Keyword And Expect Error    *    Reply Should Be    Echo=>hello
    Reply Should Be    Echo=>hello

Unknown Connection Is Named
    Switch Connection    nosuch
"""

IMPORT_TYPO = """\
*** Settings ***
Library    SocketLibrary    timout=2s

*** Test Cases ***
Anything
    No Operation
"""

FAILS_WITH = {
    "Typo In An Open Option": (
        "Open TCP Connection got unknown option 'timout' (did you mean 'timeout'?). "
        "Its options are named: alias=…, timeout=…, encoding=…, newline=…, connect_timeout=…, "
        "tls=…, ca_file=…, verify=…, server_hostname=…, client_cert=…, client_key=…"
    ),
    "Typo After A Unix Socket Path": "Open TCP Connection got unknown option 'timout'",
    "Typo In A Check Option": (
        "Reply Should Be got unknown option 'timout' (did you mean 'timeout'?). "
        "Its options are named: timeout=…"
    ),
    "Typo In A Getter Option": (
        "Receive Line got unknown option 'timout' (did you mean 'timeout'?). "
        "Its options are named: timeout=…, as_bytes=…, newline=…"
    ),
    "Typo In An Exchange Option": (
        "Exchange got unknown option 'tiemout' (did you mean 'timeout'?)"
    ),
    "Mismatch Already Buffered Is Seen At Once": (
        "Expected 'Echo=>hello' but received 'Echo=>hellO' (11 bytes) at once"
    ),
    "Unknown Connection Is Named": "No connection named 'nosuch'; the open connections are #1.",
}


def test_keywords_in_a_robot_run(tmp_path: Path):
    suite = tmp_path / "keywords.robot"
    suite.write_text(SUITE, encoding="utf-8")
    with serve("echo") as (host, port):
        result = run_robot(suite, tmp_path, {"HOST": host, "PORT": str(port)})
    messages = {test.name: test.message for test in result.suite.all_tests}
    statuses = {test.name: test.status for test in result.suite.all_tests}
    for name, status in statuses.items():
        if name in FAILS_WITH:
            assert status == "FAIL", name
            assert messages[name].startswith(FAILS_WITH[name]), messages[name]
        else:
            assert status == "PASS", f"{name}: {messages[name]}"
    logged = [
        message.message
        for test in result.suite.all_tests
        if test.name == "Binary Value Is Logged As Hex"
        for keyword in test.body
        for message in getattr(keyword, "body", [])
        if getattr(message, "message", None)
    ]
    assert "9 bytes: hex 45 63 68 6f 3d 3e ff 00 0a" in logged, logged


def test_a_typo_in_an_import_option_is_an_import_error(tmp_path: Path):
    suite = tmp_path / "import.robot"
    suite.write_text(IMPORT_TYPO, encoding="utf-8")
    result = run_robot(suite, tmp_path)
    errors = [message.message for message in result.errors.messages]
    assert any(
        re.search(r"Importing SocketLibrary got unknown option 'timout' \(did you mean", error)
        for error in errors
    ), errors
