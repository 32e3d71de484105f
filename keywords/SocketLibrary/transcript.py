"""The conversation log: every open, send, receive and close as a line in log.html, and
a sequence chart of each test.

Times count from the start of the test (outside tests, of the suite) for every
connection alike, so the lines of interleaved connections read in order.

Where lines go. A message in log.html can cost Robot Framework as much as a keyword
call, and a checked round trip is two keyword calls, so one message per keyword could
make long loops much slower. Most tests are short, and their readers expand a keyword to
see what it did; long loops are read as a whole. So:

- the first ``IMMEDIATE_LINES`` lines of a test are written by the keyword that made
  them, as one message per keyword (expanding `Send` shows what it sent);
- after that, lines are gathered and written every ``FLUSH_EVERY`` lines;
- just before a keyword fails, the lines not yet written, then the chart of the test so
  far with the failure in red, so both sit right above the failure message;
- when connections are closed (usually the test teardown), the rest, then the chart if
  anything besides the closes happened since the last one.

The chart keeps the first and the last ``CHART_EDGE`` events of a test, with a gap row
between, so memory and the size of log.html stay bounded in long loops; the text lines
keep everything.
"""

from __future__ import annotations

import time
from collections import deque
from datetime import datetime

from robot.api import logger
from robot.running.context import EXECUTION_CONTEXTS

from .chart import Event, render
from .display import shown

IMMEDIATE_LINES = 100
FLUSH_EVERY = 100
CHART_EDGE = 60
ARROWS = {"->": "\u2192", "<-": "\u2190"}
# The peer's end: the chart's kind and label (empty: the kind's own), the line's text.
PEER_ENDS = {
    "closed": ("peer-close", "", "closed by the peer"),
    "truncated": (
        "peer-close",
        "FIN, no close_notify",
        "closed by the peer (a TCP FIN without TLS close_notify)",
    ),
    "reset": ("peer-reset", "", "reset by the peer"),
}
# Events that need no chart of their own: a teardown's closes after a failure's chart.
QUIET = frozenset({"close"})


def _current_owner() -> object:
    """The running test, else the running suite (setup, teardown), else None."""
    context = EXECUTION_CONTEXTS.current
    if context is None:
        return None
    return context.test or context.suite


def _owner_name(owner: object) -> str:
    if owner is None:
        return "outside Robot"
    return getattr(owner, "name", "") or "the suite"


class Transcript:
    def __init__(self) -> None:
        self._pending: list[str] = []  # lines not yet written
        self._owner: object = None  # the test (or suite) the lines belong to
        self._zero = time.monotonic()  # when the owner began
        self._lines = 0  # lines the owner has made
        self._head: list[Event] = []
        self._tail: deque[Event] = deque(maxlen=CHART_EDGE)
        self._dropped = 0  # events between head and tail
        self._uncharted = False  # events since the last chart, other than closes
        self._in_test = False  # the owner is a test, not a suite's setup or teardown
        self._failure_noted = False  # a failure of this library is in the chart

    # --- recording -----------------------------------------------------------------------

    def record(self, connection, kind: str, text: str, shown_data: str = "") -> None:
        """One step of ``connection``: ``text`` for the transcript line, ``kind`` and
        ``shown_data`` (the arrow's label, if not the kind's own) for the chart."""
        at = self._now()
        self._pending.append(f"+{at:.3f}s {connection.label} {text}")
        self._lines += 1
        self._keep(
            Event(
                at,
                connection.label,
                connection.local,
                connection.peer,
                kind,
                shown_data,
                connection.role,
            )
        )
        if kind not in QUIET:
            self._uncharted = True

    def note(self, label: str, text: str) -> None:
        """A line about something that is not a connection, such as a listener or a
        client process; it has no place in the chart."""
        self._pending.append(f"+{self._now():.3f}s {label} {text}")
        self._lines += 1

    def traffic(self, connection, direction: str, data: bytes) -> None:
        """The transport's observer: one line per piece of data as it crossed the wire,
        and the peer's close or reset."""
        if direction in ARROWS:
            data_text = f"{len(data)} B {shown(data, connection.encoding)}"
            kind = "send" if direction == "->" else "receive"
            self.record(connection, kind, f"{ARROWS[direction]} {data_text}", data_text)
        else:
            kind, label, text = PEER_ENDS[direction]
            self.record(connection, kind, f"{ARROWS['<-']} {text}", label)

    def note_failure(self, connection, message: str, timed_out: bool = False) -> None:
        """Mark the failing step in the chart (the failure message itself follows it)."""
        self._keep(
            Event(
                self._now(),
                connection.label,
                connection.local,
                connection.peer,
                "timeout" if timed_out else "failure",
                message.splitlines()[0] if message else "failed",
                connection.role,
            )
        )
        self._uncharted = True
        self._failure_noted = True

    def _note_test_failure(self) -> None:
        """In a test's teardown: mark a failure that came from elsewhere (a BuiltIn check
        on a received value) at the end of the chart, on the last connection used."""
        context = EXECUTION_CONTEXTS.current
        events = self._tail or self._head
        if (
            self._failure_noted
            or not events
            or not (context and context.in_test_teardown and self._in_test)
            or getattr(self._owner, "status", "") != "FAIL"
        ):
            return
        last = events[-1]
        message = getattr(self._owner, "message", "") or "the test failed"
        self.note_failure(_Endpoint(last), f"The test failed: {message.splitlines()[0]}")

    def _now(self) -> float:
        """Seconds since the running test (or suite) began; a new one starts afresh."""
        owner = _current_owner()
        now = time.monotonic()
        if owner is not self._owner:
            self._begin(owner, now)
        return now - self._zero

    def _keep(self, event: Event) -> None:
        if len(self._head) < CHART_EDGE:
            self._head.append(event)
        else:
            if len(self._tail) == CHART_EDGE:
                self._dropped += 1
            self._tail.append(event)

    def _begin(self, owner: object, now: float) -> None:
        """A new test (or suite phase) records: write what the previous one left."""
        note = f"(From {_owner_name(self._owner)!r}, whose teardown did not close its connections.)"
        # Charts are per test; what a suite setup did before the tests is in its lines.
        if self._in_test:
            self.finish(note)
        else:
            self.flush(note)
        self._owner = owner
        context = EXECUTION_CONTEXTS.current
        self._in_test = context is not None and owner is context.test
        started = getattr(owner, "start_time", None)
        self._zero = now - (datetime.now() - started).total_seconds() if started else now
        self._lines = 0
        self._head = []
        self._tail.clear()
        self._dropped = 0
        self._uncharted = False
        self._failure_noted = False

    # --- writing -------------------------------------------------------------------------

    def settle(self) -> None:
        """A keyword has done its part: write its lines now, while the test is short."""
        if self._pending and (self._lines <= IMMEDIATE_LINES or len(self._pending) >= FLUSH_EVERY):
            self.flush()

    def flush(self, note: str = "") -> None:
        """Write the lines not yet written, as one message."""
        if self._pending:
            lines = [note, *self._pending] if note else self._pending
            self._pending = []
            logger.info("\n".join(lines))

    def finish(self, note: str = "") -> None:
        """Write the remaining lines, then the chart if it has anything new; ``note``
        comes first if either is written."""
        self._note_test_failure()
        if note and self._uncharted and not self._pending:
            logger.info(note)
        self.flush(note)
        if self._uncharted:
            self.chart()

    def chart(self) -> None:
        """Write the chart of the test so far (html)."""
        events = self.events()
        self._uncharted = False
        if events:
            logger.info(render(events), html=True)

    def events(self) -> list[Event]:
        """The events the chart shows: the first and the last ones, with a gap between."""
        if not self._dropped:
            return [*self._head, *self._tail]
        gap = Event(
            self._tail[0].at,
            "",
            "",
            "",
            "gap",
            f"\u2026 {self._dropped:,} steps not shown: see the text transcript \u2026",
        )
        return [*self._head, gap, *self._tail]


class _Endpoint:
    """The connection an event was on, as ``note_failure`` takes it."""

    def __init__(self, event: Event) -> None:
        self.label = event.connection
        self.local = event.local
        self.peer = event.peer
        self.role = event.role
