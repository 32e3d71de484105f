"""The conversation log: every open, send, receive and close, as lines in log.html.

Lines are gathered and written as one message: just before a keyword fails (so the
conversation leading to the failure sits right above it), when connections are closed
(usually in the test teardown), and every ``FLUSH_EVERY`` lines. A message costs Robot
Framework about as much as a keyword call, so one message per line would almost double
the cost of a checked round trip.
"""

from __future__ import annotations

from robot.api import logger
from robot.running.context import EXECUTION_CONTEXTS

from .display import shown

FLUSH_EVERY = 100
ARROWS = {"->": "\u2192", "<-": "\u2190"}


def _current_test() -> object:
    context = EXECUTION_CONTEXTS.current
    return context.test if context else None


class Transcript:
    def __init__(self) -> None:
        self._lines: list[str] = []
        self._test: object = None

    def add(self, label: str, offset: float, text: str) -> None:
        test = _current_test()
        if self._lines and test is not self._test:
            name = getattr(self._test, "name", "the suite setup")
            self.flush(f"(From {name!r}, whose teardown did not close its connections.)")
        self._test = test
        self._lines.append(f"{label} +{offset:.3f}s {text}")
        if len(self._lines) >= FLUSH_EVERY:
            self.flush()

    def traffic(self, connection, direction: str, data: bytes) -> None:
        """The transport's observer: one line per piece of data as it crossed the wire."""
        if direction in ARROWS:
            text = f"{ARROWS[direction]} {len(data)} B {shown(data, connection.encoding)}"
        else:
            text = f"{ARROWS['<-']} {direction} by the peer"
        self.add(connection.label, connection.age, text)

    def flush(self, note: str = "") -> None:
        if self._lines:
            lines = [note, *self._lines] if note else self._lines
            self._lines = []
            logger.info("\n".join(lines))
