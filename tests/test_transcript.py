"""The transcript in a real Robot run: every open, send, receive and close is in log.html,
in the keyword that did it, on one test-relative timeline, with a sequence chart per test."""

from __future__ import annotations

import re
import sys
import xml.etree.ElementTree as ET

import pytest
from robot.api import ResultVisitor

from SocketLibrary.transcript import FLUSH_EVERY, IMMEDIATE_LINES
from tests.helpers import ROOT, run_robot

# Starts processes: left out of the quick loop, pytest -m "not slow".
pytestmark = pytest.mark.slow

SVG = "{http://www.w3.org/2000/svg}"
RED = "#c62828"
LOOPS = 60

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

Three Connections And A Failure
    Open TCP Connection    127.0.0.1    ${{PORT}}    alias=first
    Open TCP Connection    127.0.0.1    ${{PORT}}    alias=second
    Open TCP Connection    127.0.0.1    ${{PORT}}    alias=third
    Send    one
    Switch Connection    first
    Send    two
    Reply Should Be    Echo=>two
    Switch Connection    second
    Half Close Connection
    Connection Should Be Closed
    Switch Connection    third
    Reply Should Be    Echo=>ONE    timeout=1s

Long Conversations Are Logged In Blocks
    Open TCP Connection    127.0.0.1    ${{PORT}}
    FOR    ${{i}}    IN RANGE    {LOOPS}
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

A Failure Outside The Library Is Marked In The Teardown's Chart
    Open TCP Connection    127.0.0.1    ${{PORT}}
    Send    hello
    ${{reply}}    Receive Exactly    11
    Should Be Equal    ${{reply}}    Echo=>HELLO

A Refused Connection Is Charted
    Run Keyword And Expect Error    Connection refused by 127.0.0.1:1
    ...    Open TCP Connection    127.0.0.1    1    alias=nobody

*** Keywords ***
Start Echo
    ${{port}}    Start Server    {sys.executable} -m services echo --port 0    0    cwd={ROOT}
    VAR    ${{PORT}}    ${{port}}    scope=SUITE
"""
LINE = r"\+(?P<at>\d+\.\d{3})s (?P<label>\S+) (?P<text>.*)"


class Messages(ResultVisitor):
    """Each test's messages but failures: (keyword, text, html), with the keyword each was
    logged in."""

    def __init__(self) -> None:
        self.by_test: dict[str, list[tuple[str, str, bool]]] = {}
        self.elapsed: dict[str, float] = {}
        self.test = ""

    def start_test(self, test) -> None:
        self.test = test.name
        self.by_test[test.name] = []
        # How long the test took: its lines' times, counted from its start, fit in it.
        self.elapsed[test.name] = test.elapsed_time.total_seconds()

    def visit_message(self, message) -> None:
        if message.level == "FAIL":
            return
        keyword = getattr(message.parent, "name", "")
        self.by_test.setdefault(self.test, []).append((keyword, message.message, message.html))


def transcript_lines(message: str) -> list[tuple[float, str, str]]:
    lines = []
    for line in message.splitlines():
        if not line.startswith("("):
            at, label, text = re.fullmatch(LINE, line).group("at", "label", "text")
            lines.append((float(at), label, text))
    return lines


def charts(messages: list[tuple[str, str, bool]]) -> list[tuple[str, ET.Element]]:
    return [(keyword, ET.fromstring(text)) for keyword, text, html in messages if html]


def event_groups(chart: ET.Element) -> list[ET.Element]:
    return [g for g in chart.iter(f"{SVG}g") if g.get("class", "").startswith("event")]


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Messages:
    folder = tmp_path_factory.mktemp("transcript")
    (folder / "transcript.robot").write_text(SUITE)
    result = run_robot(folder / "transcript.robot", folder / "out", log=True, timeout=60)
    assert (folder / "out" / "log.html").exists()
    assert [test.status for test in result.suite.tests] == [
        "PASS",
        "FAIL",
        "PASS",
        "PASS",
        "PASS",
        "FAIL",
        "PASS",
    ]
    assert result.suite.tests[1].message == (
        "Expected 'Echo=>ONE' but received 'Echo=>one' (9 bytes) at once"
    )
    visitor = Messages()
    result.visit(visitor)
    return visitor


@pytest.fixture(scope="module")
def messages(run) -> dict[str, list[tuple[str, str, bool]]]:
    return run.by_test


def test_each_keyword_logs_its_own_lines(messages):
    text = [(keyword, text) for keyword, text, html in messages["Conversation"] if not html]
    assert [keyword for keyword, _ in text] == [
        "Open TCP Connection",
        "Send",
        "Reply Should Be",
        "Send Bytes",
        "Reply Should Be Bytes",
        "Close All Connections",
    ]
    lines = [line for _, block in text for line in transcript_lines(block)]
    assert [label for _, label, _ in lines] == ["echo"] * 6
    assert re.fullmatch(r"opened tcp 127\.0\.0\.1:\d+ → 127\.0\.0\.1:\d+", lines[0][2])
    assert [text for *_, text in lines[1:]] == [
        "→ 6 B 'hello\\n'",
        "← 12 B 'Echo=>hello\\n'",
        "→ 2 B hex ff 00",
        "← 8 B hex 45 63 68 6f 3d 3e ff 00",
        "closed",
    ]


def test_the_teardown_writes_the_chart_of_a_test_that_passed(messages):
    ((keyword, chart),) = charts(messages["Conversation"])
    assert keyword == "Close All Connections"
    kinds = [g.get("class").split()[1] for g in event_groups(chart)]
    assert kinds == ["open", "send", "receive", "send", "receive", "close"]


def test_times_count_from_the_test_start_for_every_connection(run, messages):
    blocks = [text for _, text, html in messages["Three Connections And A Failure"] if not html]
    lines = [line for block in blocks for line in transcript_lines(block)]
    times = [at for at, _, _ in lines]
    assert times == sorted(times), "interleaved connections' lines never go back in time"
    assert [label for _, label, _ in lines[:3]] == ["first", "second", "third"]
    # The transcript rounds to the millisecond, so the last line may show up to 0.5 ms late.
    elapsed = run.elapsed["Three Connections And A Failure"] + 0.0005
    assert 0 <= times[0] <= times[-1] <= elapsed, "times count from the test's start"


def test_a_failure_writes_the_chart_of_three_connections_with_the_failure_in_red(messages):
    test = messages["Three Connections And A Failure"]
    # The failing keyword: its own line, then the chart, then (in log.html) the failure.
    failing = [(text, html) for keyword, text, html in test if keyword == "Reply Should Be"]
    *_, (received, _), (svg, html) = failing
    assert transcript_lines(received)[-1][1:] == ("third", "← 9 B 'Echo=>one'")
    assert html and svg.startswith("<svg")
    ((keyword, chart),) = charts(test)
    assert keyword == "Reply Should Be", "written once per test, just before the failure"

    lifelines = [g for g in chart.iter(f"{SVG}g") if g.get("class") == "lifeline"]
    titles = [[t.text for t in g.iter(f"{SVG}text")] for g in lifelines]
    assert [title for title, _ in titles] == ["first", "second", "third", "server"]
    assert all(re.fullmatch(r"127\.0\.0\.1:\d+", address) for _, address in titles)
    x = {
        title: g.find(f"{SVG}line").get("x1")
        for (title, _), g in zip(titles, lifelines, strict=True)
    }

    events = event_groups(chart)
    kinds = [g.get("class").split()[1] for g in events]
    assert kinds == [
        "open",
        "open",
        "open",
        "send",
        "send",
        "receive",
        "half-close",
        "peer-close",
        "receive",
        "failure",
    ]
    labels = [g.find(f"{SVG}text").text for g in events]
    assert labels[3:6] == ["3 B 'one'", "3 B 'two'", "9 B 'Echo=>two'"]
    failure = events[-1]
    assert failure.find(f"{SVG}rect").get("stroke") == RED
    assert failure.find(f"{SVG}title").text.startswith("Expected 'Echo=>ONE' but received")
    # Each arrow starts at the lifeline of the side that sent it.
    send_one, send_two, reply_two = events[3:6]
    assert send_one.find(f"{SVG}line").get("x1") == x["third"]
    assert send_two.find(f"{SVG}line").get("x1") == x["first"]
    assert reply_two.find(f"{SVG}line").get("x1") == x["server"]
    # The closes in the teardown add lines but no second chart.
    teardown = [text for keyword, text, _ in test if keyword == "Close All Connections"]
    assert [len(transcript_lines(block)) for block in teardown] == [3]


def test_long_tests_log_their_first_lines_per_keyword_then_in_blocks(messages):
    test = messages["Long Conversations Are Logged In Blocks"]
    blocks = [text for _, text, html in test if not html]
    sizes = [len(transcript_lines(block)) for block in blocks]
    total = 1 + 2 * LOOPS + 1
    assert sum(sizes) == total, "nothing is left out"
    immediate = sizes[: IMMEDIATE_LINES - 1]
    assert immediate == [1] * len(immediate), "one line per keyword while the test is short"
    rest = sizes[IMMEDIATE_LINES - 1 :]
    assert rest[0] == 1 and all(size == FLUSH_EVERY for size in rest[1:-1])
    assert len(charts(test)) == 1


def test_a_test_without_teardown_gets_its_chart_marked_at_the_next_test(messages):
    (keyword, note, _), (chart_keyword, svg, html), *_ = messages["Next Test"]
    assert note == "(From 'No Teardown', whose teardown did not close its connections.)"
    assert keyword == chart_keyword == "Open TCP Connection"
    kinds = [g.get("class").split()[1] for g in event_groups(ET.fromstring(svg))]
    assert html and kinds == ["open", "send", "receive"]


def test_a_connection_that_could_not_open_is_charted_with_its_failure(messages):
    ((keyword, chart),) = charts(messages["A Refused Connection Is Charted"])
    assert keyword == "Open TCP Connection"
    lifelines = [
        [t.text for t in g.iter(f"{SVG}text")]
        for g in chart.iter(f"{SVG}g")
        if g.get("class") == "lifeline"
    ]
    assert lifelines == [["nobody", "-"], ["server", "127.0.0.1:1"]]
    (failure,) = event_groups(chart)
    assert failure.get("class") == "event failure"
    assert failure.find(f"{SVG}title").text == "Connection refused by 127.0.0.1:1"


def test_a_failure_outside_the_library_is_marked_in_the_teardowns_chart(messages):
    test = messages["A Failure Outside The Library Is Marked In The Teardown's Chart"]
    ((keyword, chart),) = charts(test)
    assert keyword == "Close All Connections"
    events = event_groups(chart)
    kinds = [g.get("class").split()[1] for g in events]
    assert kinds == ["open", "send", "receive", "close", "failure"]
    assert events[-1].find(f"{SVG}title").text == ("The test failed: Echo=>hello != Echo=>HELLO")
