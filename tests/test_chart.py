"""The sequence chart renderer: well-formed SVG, one lifeline per endpoint, escaped text."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from SocketLibrary.chart import Event, lifelines, render

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
        ("peer", "127.0.0.1:50007"),
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
