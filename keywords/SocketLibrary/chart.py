"""A sequence chart of one test's conversation, as inline SVG for log.html.

Pure: a list of ``Event`` in, an SVG string out. One lifeline per connection (the
library's own endpoint) and one per peer address; time runs down the page, one row per
event, with the test-relative time at the left. Sends and receives are arrows labelled
with the byte count and the data (shortened, whitespace visible, hex for non-text);
opens (with the TLS version and cipher), half-closes, closes and resets are arrows of
their own; timeouts and the failing step are red. No external tool, font, script or
element id is needed to view it, so any number of charts can share one log.html.
"""

from __future__ import annotations

from dataclasses import dataclass
from xml.sax.saxutils import escape, quoteattr

# Event kinds, and who each arrow goes from: the library's endpoint or its peer.
FROM_US = {"open", "send", "half-close", "close", "reset"}
FROM_PEER = {"receive", "peer-close", "peer-reset"}
# Notes span the columns of their connection and its peer; a gap spans the whole chart.
NOTES = {"timeout", "failure", "gap"}
RED = {"reset", "peer-reset", "timeout", "failure"}
ARROW_LABELS = {
    "open": "connect",
    "half-close": "FIN (half-close)",
    "close": "close",
    "reset": "RST",
    "peer-close": "FIN",
    "peer-reset": "RST",
}
# The role of the peer, seen from the role of the library's endpoint.
PEER_ROLE = {"client": "server", "server": "client"}

LABEL_CHARS = 44
CHAR_WIDTH = 7  # pixels per character of the 11 px monospace font, rounded up
COLUMN = 190
TIME_COLUMN = 72
HEADER = 46
ROW = 30
MARGIN = 12
INK = "#333"
ALERT = "#c62828"


@dataclass(slots=True)
class Event:
    """One step of the conversation.

    ``at`` is seconds since the test began, for every connection alike. ``connection`` is
    the connection's label (alias or ``#index``), ``local`` and ``peer`` its addresses,
    and ``role`` what the library's endpoint is: ``client`` (it connected) or ``server``
    (it accepted). ``shown`` is how the data or note reads in the transcript:
    ``5 B 'hello'``.
    """

    at: float
    connection: str
    local: str
    peer: str
    kind: str
    shown: str = ""
    role: str = "client"


def shorten(text: str, limit: int = LABEL_CHARS) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


def lifelines(events: list[Event]) -> list[tuple[str, str]]:
    """``(title, address)`` per lifeline: each connection, then each peer, in order of
    first appearance. A peer is titled by its role: ``server`` for a connection the
    library opened."""
    return [(title, address) for _key, title, address in _lifelines(events)]


def _lifelines(events: list[Event]) -> list[tuple[tuple[bool, str], str, str]]:
    """Each lifeline's key (is it a peer, and its name), title and address."""
    ours: dict[str, str] = {}
    peers: dict[str, str] = {}
    for event in events:
        if event.kind != "gap":
            ours.setdefault(event.connection, event.local)
            peers.setdefault(event.peer, PEER_ROLE.get(event.role, "peer"))
    return [
        *(((False, name), name, local) for name, local in ours.items()),
        *(((True, peer), role, peer) for peer, role in peers.items()),
    ]


def render(events: list[Event]) -> str:
    """The SVG for ``events``; an empty string when there are none."""
    if not events:
        return ""
    lines = _lifelines(events)
    column = {
        key: TIME_COLUMN + index * COLUMN + COLUMN // 2 for index, (key, *_) in enumerate(lines)
    }
    width = TIME_COLUMN + len(lines) * COLUMN + MARGIN
    height = HEADER + (len(events) + 1) * ROW + MARGIN
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="socket-chart" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" font-family="monospace" '
        f'font-size="11" style="background:#fff">'
    ]
    bottom = height - MARGIN
    for key, title, address in lines:
        x = column[key]
        parts.append(
            f'<g class="lifeline"><rect x="{x - COLUMN // 2 + 6}" y="4" width="{COLUMN - 12}" '
            f'height="34" rx="4" fill="#eef3fb" stroke="#5b7db1"/>'
            f'<text x="{x}" y="18" text-anchor="middle" font-weight="bold">'
            f"{escape(shorten(title, 26))}</text>"
            f'<text x="{x}" y="32" text-anchor="middle">{escape(shorten(address, 28))}</text>'
            f'<line x1="{x}" y1="38" x2="{x}" y2="{bottom}" stroke="#9aa" '
            f'stroke-dasharray="4 3"/></g>'
        )
    for row, event in enumerate(events, start=1):
        parts.append(_row(event, HEADER + row * ROW, column, width))
    parts.append("</svg>")
    return "".join(parts)


def _row(event: Event, y: int, column: dict, width: int) -> str:
    colour = ALERT if event.kind in RED else INK
    time = f'<text x="4" y="{y + 4}" fill="#666">+{event.at:.3f}s</text>'
    if event.kind == "gap":
        return (
            f'<g class="event gap"><text x="{width // 2}" y="{y + 4}" text-anchor="middle" '
            f'fill="#666" font-style="italic">{escape(event.shown)}</text></g>'
        )
    ours = column[(False, event.connection)]
    theirs = column[(True, event.peer)]
    if event.kind in NOTES:
        # From the connection's lifeline to the right edge: the message needs the room.
        left = min(ours, theirs) - COLUMN // 2 + 6
        right = width - MARGIN
        label = shorten(event.shown, (right - left - 12) // CHAR_WIDTH)
        return (
            f'{time}<g class="event {event.kind}"><title>{escape(event.shown)}</title>'
            f'<rect x="{left}" y="{y - 11}" width="{right - left}" '
            f'height="18" fill="#fdecea" stroke="{colour}"/><text x="{left + 6}" '
            f'y="{y + 2}" fill="{colour}">{escape(label)}</text></g>'
        )
    start, end = (ours, theirs) if event.kind in FROM_US else (theirs, ours)
    label = event.shown or ARROW_LABELS.get(event.kind, event.kind)
    dashed = ' stroke-dasharray="5 3"' if event.kind not in ("send", "receive") else ""
    # The arrowhead is drawn, not a marker: markers need ids, which charts would share.
    back = 8 if end > start else -8
    head = f"{end},{y} {end - back},{y - 4} {end - back},{y + 4}"
    return (
        f'{time}<g class="event {event.kind}"><title>{escape(event.shown or label)}</title>'
        f'<line x1="{start}" y1="{y}" x2="{end - back}" y2="{y}" stroke="{colour}"{dashed}/>'
        f'<polygon points="{head}" fill="{colour}"/>'
        f'<text x="{(start + end) // 2}" y="{y - 5}" text-anchor="middle" '
        f"fill={quoteattr(colour)}>{escape(shorten(label, _fits(abs(end - start))))}</text></g>"
    )


def _fits(span: int) -> int:
    """How many characters an arrow's label may have: about its length, within limits."""
    return max(24, min(LABEL_CHARS, span // CHAR_WIDTH))
