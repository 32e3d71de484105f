"""A sequence chart of one test's conversation, as inline SVG for log.html.

Pure: a list of ``Event`` in, an SVG string out. One lifeline per connection (the
library's own endpoint) and one per peer address; time runs down the page, one row per
event, with the test-relative time at the left. Sends and receives are arrows labelled
with the byte count and the data (shortened, whitespace visible, hex for non-text);
opens, half-closes, closes and resets are arrows of their own; timeouts and the failing
step are red. No external tool, font or script is needed to view it.
"""

from __future__ import annotations

from dataclasses import dataclass
from xml.sax.saxutils import escape, quoteattr

# Event kinds, and who each arrow goes from: the library's endpoint or its peer.
FROM_US = {"open", "send", "half-close", "close", "reset"}
FROM_PEER = {"receive", "peer-close", "peer-reset"}
NOTES = {"timeout", "failure"}
RED = {"reset", "peer-reset", "timeout", "failure"}
ARROW_LABELS = {
    "open": "connect",
    "half-close": "FIN (half-close)",
    "close": "close",
    "reset": "RST",
    "peer-close": "FIN",
    "peer-reset": "RST",
}

LABEL_CHARS = 44
COLUMN = 190
TIME_COLUMN = 72
HEADER = 46
ROW = 30
MARGIN = 12


@dataclass(frozen=True)
class Event:
    """One step of the conversation.

    ``at`` is seconds since the test began, for every connection alike. ``connection`` is
    the connection's label (alias or ``#index``), ``local`` and ``peer`` its addresses.
    ``shown`` is how the data or note reads in the transcript: ``5 B 'hello'``.
    """

    at: float
    connection: str
    local: str
    peer: str
    kind: str
    shown: str = ""


def shorten(text: str, limit: int = LABEL_CHARS) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


def lifelines(events: list[Event]) -> list[tuple[str, str]]:
    """``(title, address)`` per lifeline: each connection, then each peer, in order of
    first appearance."""
    ours: dict[str, str] = {}
    peers: dict[str, None] = {}
    for event in events:
        ours.setdefault(event.connection, event.local)
        peers.setdefault(event.peer)
    return [*ours.items(), *(("peer", peer) for peer in peers)]


def render(events: list[Event]) -> str:
    """The SVG for ``events``; an empty string when there are none."""
    if not events:
        return ""
    lines = lifelines(events)
    column = {}
    for index, (title, address) in enumerate(lines):
        key = address if title == "peer" else title
        column[(title == "peer", key)] = TIME_COLUMN + index * COLUMN + COLUMN // 2
    width = TIME_COLUMN + len(lines) * COLUMN + MARGIN
    height = HEADER + (len(events) + 1) * ROW + MARGIN
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="socket-chart" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" font-family="monospace" '
        f'font-size="11">',
        "<defs>"
        + "".join(
            f'<marker id="arrow-{name}" viewBox="0 0 10 10" refX="10" refY="5" '
            f'markerWidth="7" markerHeight="7" orient="auto-start-reverse">'
            f'<path d="M0,0 L10,5 L0,10 z" fill="{colour}"/></marker>'
            for name, colour in (("ok", "#333"), ("red", "#c62828"))
        )
        + "</defs>",
    ]
    bottom = height - MARGIN
    for title, address in lines:
        x = column[(title == "peer", address if title == "peer" else title)]
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
        y = HEADER + row * ROW
        ours = column[(False, event.connection)]
        theirs = column[(True, event.peer)]
        colour = "#c62828" if event.kind in RED else "#333"
        parts.append(f'<text x="4" y="{y + 4}" fill="#666">+{event.at:.3f}s</text>')
        if event.kind in NOTES:
            label = shorten(event.shown, 2 * LABEL_CHARS)
            parts.append(
                f'<g class="event {event.kind}"><rect x="{ours - COLUMN // 2 + 6}" '
                f'y="{y - 11}" width="{abs(theirs - ours) + COLUMN - 12}" height="18" '
                f'fill="#fdecea" stroke="{colour}"/><text x="{ours - COLUMN // 2 + 12}" '
                f'y="{y + 2}" fill="{colour}">{escape(label)}</text></g>'
            )
            continue
        start, end = (ours, theirs) if event.kind in FROM_US else (theirs, ours)
        label = event.shown or ARROW_LABELS.get(event.kind, event.kind)
        dashed = ' stroke-dasharray="5 3"' if event.kind not in ("send", "receive") else ""
        marker = "red" if event.kind in RED else "ok"
        parts.append(
            f'<g class="event {event.kind}"><title>{escape(event.shown or label)}</title>'
            f'<line x1="{start}" y1="{y}" x2="{end}" y2="{y}" stroke="{colour}"'
            f'{dashed} marker-end="url(#arrow-{marker})"/>'
            f'<text x="{(start + end) // 2}" y="{y - 5}" text-anchor="middle" '
            f"fill={quoteattr(colour)}>{escape(shorten(label))}</text></g>"
        )
    parts.append("</svg>")
    return "".join(parts)
