"""The sequence chart renderer: well-formed SVG, one lifeline per endpoint, escaped text."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from SocketLibrary.chart import Event, lifelines, render
from SocketLibrary.transcript import CHART_EDGE, Transcript

SVG = "{http://www.w3.org/2000/svg}"
FIRST = ("first", "127.0.0.1:40112", "127.0.0.1:50007")
SECOND = ("second", "127.0.0.1:40113", "127.0.0.1:50007")


def conversation() -> list[Event]:
    return [
        Event(0.0, *FIRST, "open"),
        Event(0.001, *FIRST, "send", "5 B 'hello'"),
        Event(0.002, *SECOND, "open"),
        Event(0.003, *FIRST, "receive", "11 B 'Echo=>hello'"),
        Event(0.004, *SECOND, "send", "3 B '<&>'"),
        Event(2.004, *SECOND, "timeout", "Expected 'x' but received nothing within 2s"),
        Event(2.005, *SECOND, "reset"),
    ]


def test_one_lifeline_per_connection_and_per_peer():
    assert lifelines(conversation()) == [
        ("first", "127.0.0.1:40112"),
        ("second", "127.0.0.1:40113"),
        ("server", "127.0.0.1:50007"),
    ]


def test_a_peer_is_titled_by_its_role_and_shared_by_its_connections():
    accepted = Event(0.0, "from client", "127.0.0.1:50007", "127.0.0.1:40999", "open", "", "server")
    assert lifelines([*conversation()[:1], accepted]) == [
        ("first", "127.0.0.1:40112"),
        ("from client", "127.0.0.1:50007"),
        ("server", "127.0.0.1:50007"),
        ("client", "127.0.0.1:40999"),
    ]


def test_chart_is_well_formed_svg_with_an_element_per_event():
    root = ET.fromstring(render(conversation()))
    assert root.tag == f"{SVG}svg"
    groups = [g.get("class") for g in root.iter(f"{SVG}g")]
    assert groups.count("lifeline") == 3
    events = [kind.split()[1] for kind in groups if kind.startswith("event")]
    assert events == ["open", "send", "open", "receive", "send", "timeout", "reset"]
    texts = [text.text for text in root.iter(f"{SVG}text")]
    assert "+2.005s" in texts
    assert "3 B '<&>'" in texts, "data is escaped, and reads as sent"


def test_arrows_point_from_sender_to_receiver_and_failures_are_red():
    root = ET.fromstring(render(conversation()))
    arrows = {}
    for group in root.iter(f"{SVG}g"):
        line = group.find(f"{SVG}line")
        if group.get("class", "").startswith("event") and line is not None:
            arrows.setdefault(group.get("class"), []).append(line)
    (send, _), (receive,) = arrows["event send"], arrows["event receive"]
    assert float(send.get("x1")) < float(send.get("x2")), "the first connection sends right"
    assert float(receive.get("x1")) > float(receive.get("x2")), "the reply comes back left"
    (reset,) = arrows["event reset"]
    assert reset.get("stroke") == "#c62828"


def test_long_data_is_shortened_and_nothing_renders_nothing():
    long = Event(0.0, *FIRST, "send", "1000 B '" + "x" * 1000 + "'")
    texts = [t.text for t in ET.fromstring(render([long])).iter(f"{SVG}text")]
    assert any(text.endswith("\u2026") and len(text) <= 44 for text in texts)
    assert render([]) == ""


def test_charts_define_no_ids_so_that_many_can_share_a_page():
    assert " id=" not in render(conversation())


def test_a_gap_row_stands_for_the_steps_left_out():
    events = [
        *conversation()[:2],
        Event(1.0, "", "", "", "gap", "\u2026 900 steps not shown"),
        *conversation()[2:],
    ]
    root = ET.fromstring(render(events))
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert "\u2026 900 steps not shown" in texts
    assert len(lifelines(events)) == 3, "a gap is no lifeline"


def test_a_failure_note_is_red_and_keeps_its_whole_message_in_a_tooltip():
    message = "Expected 'Echo=>HELLO\\n' but received 'Echo=>hello\\n' (12 bytes) within 500ms " * 2
    events = [*conversation(), Event(2.1, *FIRST, "failure", message)]
    root = ET.fromstring(render(events))
    (note,) = [g for g in root.iter(f"{SVG}g") if g.get("class") == "event failure"]
    assert note.find(f"{SVG}rect").get("stroke") == "#c62828"
    assert note.find(f"{SVG}title").text == message
    shown = note.find(f"{SVG}text").text
    assert shown.endswith("\u2026") and message.startswith(shown[:-1])
    width = float(root.get("width"))
    rect = note.find(f"{SVG}rect")
    assert float(rect.get("x")) + float(rect.get("width")) <= width


def test_a_long_test_keeps_its_first_and_last_steps_and_counts_the_rest():
    class Connection:
        label, local, peer, role, encoding = (
            "#1",
            "127.0.0.1:40112",
            "127.0.0.1:50007",
            "client",
            "UTF-8",
        )

    transcript = Transcript()
    for number in range(200):
        transcript.traffic(Connection, "->", str(number).encode())
    events = transcript.events()
    assert len(events) == 2 * CHART_EDGE + 1
    assert [event.shown for event in events[:2]] == ["1 B '0'", "1 B '1'"]
    assert events[CHART_EDGE].kind == "gap"
    assert events[CHART_EDGE].shown.startswith(f"\u2026 {200 - 2 * CHART_EDGE} steps not shown")
    assert events[-1].shown == "3 B '199'"
