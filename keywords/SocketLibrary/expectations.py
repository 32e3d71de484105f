"""What each waiting keyword waits for, and how it says what it expected.

An expectation is the transport's ``Matcher``: it judges received bytes and never touches
a socket (``scan`` looks at a stream's buffer, ``whole`` at one datagram). It also
states which outcomes of the wait pass (``passes``; a reply passes when it matched,
silence when the wait timed out) and what it expected, for the failure message built
by ``display.failure``. New checks (a search, a line, an operator) are new classes here.
"""

from __future__ import annotations

import re

from .display import quote, seconds_text, shown
from .transport import CANNOT_MATCH, Kind, Outcome

MATCHED = frozenset({Kind.MATCHED})


class Expectation:
    __slots__ = ()
    passes = MATCHED

    def scan(self, buffer: bytes | bytearray) -> int | None:
        raise NotImplementedError

    def whole(self, datagram: bytes) -> bool:
        return self.scan(datagram) == len(datagram)

    def expected(self) -> str:
        """``Expected …``: the start of the failure message."""
        raise NotImplementedError

    def timed_out(self, received: str, limit: str) -> str:
        """The failure message's end when the wait timed out, given what was received."""
        return f"but received {received} within {limit}"

    def hint(self, outcome: Outcome) -> str:
        """What the failure message about ``outcome`` should add, if anything."""
        return ""

    def passed(self, outcome: Outcome) -> bool:
        """Whether the wait passed. What was seen only after the deadline (the process
        got no CPU in time) may have come after it: if a timeout passes, so does that."""
        return outcome.kind in self.passes or (outcome.late and Kind.TIMED_OUT in self.passes)


class AnyData(Expectation):
    """Whatever has arrived: the buffer on a stream, the next datagram (even empty)."""

    __slots__ = ()

    def scan(self, buffer: bytes | bytearray) -> int | None:
        return len(buffer) or None

    def whole(self, datagram: bytes) -> bool:
        return True

    def expected(self) -> str:
        return "Expected data"


class Exactly(Expectation):
    """These bytes; on a stream they fail at the first byte that differs."""

    __slots__ = ("encoding", "wanted")

    def __init__(self, wanted: bytes, encoding: str) -> None:
        self.wanted = wanted
        self.encoding = encoding

    def scan(self, buffer: bytes | bytearray) -> int | None:
        wanted = self.wanted
        if len(buffer) >= len(wanted):
            return len(wanted) if buffer.startswith(wanted) else CANNOT_MATCH
        return None if wanted.startswith(buffer) else CANNOT_MATCH

    def whole(self, datagram: bytes) -> bool:
        return datagram == self.wanted

    def expected(self) -> str:
        return f"Expected {shown(self.wanted, self.encoding)}"

    def hint(self, outcome: Outcome) -> str:
        """Where a long expected reply first differs: too long to compare by eye."""
        if outcome.kind is not Kind.DIFFERS or len(self.wanted) <= 40:
            return ""
        for offset, (wanted, got) in enumerate(zip(self.wanted, outcome.data, strict=False)):
            if wanted != got:
                return f"; the first difference is at byte {offset}"
        return ""


class UpTo(Expectation):
    """Everything up to and including a marker."""

    __slots__ = ("marker", "text")

    def __init__(self, marker: bytes, text: str) -> None:
        if not marker:
            raise ValueError("the marker must not be empty")
        self.marker = marker
        self.text = text

    def scan(self, buffer: bytes | bytearray) -> int | None:
        found = buffer.find(self.marker)
        return None if found < 0 else found + len(self.marker)

    def expected(self) -> str:
        return f"Expected {quote(self.text)}"


class Line(UpTo):
    """One line: everything up to and including the newline."""

    __slots__ = ()

    def expected(self) -> str:
        return f"Expected a line ending in {quote(self.text)}"

    def timed_out(self, received: str, limit: str) -> str:
        if received == "nothing":
            return f"but received no complete line within {limit}"
        return f"but received {received}, no complete line, within {limit}"


class Contains(UpTo):
    """A reply containing the marker: on a stream everything up to and including it, on
    datagrams the next one, which must contain it."""

    __slots__ = ()

    def whole(self, datagram: bytes) -> bool:
        return self.marker in datagram

    def expected(self) -> str:
        return f"Expected a reply containing {quote(self.text)}"


class Count(Expectation):
    """Exactly ``count`` bytes, whatever they are."""

    __slots__ = ("count",)

    def __init__(self, count: int) -> None:
        if count < 0:
            raise ValueError(f"count must not be negative, got {count}")
        self.count = count

    def scan(self, buffer: bytes | bytearray) -> int | None:
        return self.count if len(buffer) >= self.count else None

    def expected(self) -> str:
        return f"Expected {self.count} bytes"


class Pattern(Expectation):
    """Text matching a regular expression from its start (a whole datagram: all of it).

    The match is kept in ``found`` for the keyword to return.
    """

    __slots__ = ("encoding", "found", "pattern", "regexp")

    def __init__(self, regexp: str, encoding: str) -> None:
        self.regexp = regexp
        self.pattern = re.compile(regexp, re.DOTALL)
        self.encoding = encoding
        self.found: re.Match[str] | None = None

    def _text(self, data: bytes | bytearray) -> str:
        return bytes(data).decode(self.encoding, errors="surrogateescape")

    def scan(self, buffer: bytes | bytearray) -> int | None:
        text = self._text(buffer)
        self.found = self.pattern.match(text)
        if not self.found:
            return None
        matched = text[: self.found.end()]
        return len(matched.encode(self.encoding, errors="surrogateescape"))

    def whole(self, datagram: bytes) -> bool:
        self.found = self.pattern.fullmatch(self._text(datagram))
        return self.found is not None

    def expected(self) -> str:
        return f"Expected a reply matching {quote(self.regexp)}"


class Search(Pattern):
    """Text up to and including the first match of a regular expression anywhere in it
    (a datagram: one that contains a match)."""

    __slots__ = ()

    def scan(self, buffer: bytes | bytearray) -> int | None:
        text = self._text(buffer)
        self.found = self.pattern.search(text)
        if not self.found:
            return None
        matched = text[: self.found.end()]
        return len(matched.encode(self.encoding, errors="surrogateescape"))

    def whole(self, datagram: bytes) -> bool:
        self.found = self.pattern.search(self._text(datagram))
        return self.found is not None

    def expected(self) -> str:
        return f"Expected a reply containing a match for {quote(self.regexp)}"


class NoData(Expectation):
    """No reply: no byte at all. The timeout passes, and so does the peer's close, which
    is not a reply."""

    __slots__ = ()
    passes = frozenset({Kind.TIMED_OUT, Kind.CLOSED, Kind.RESET})

    def scan(self, buffer: bytes | bytearray) -> int | None:
        return CANNOT_MATCH if buffer else None

    def whole(self, datagram: bytes) -> bool:
        return False

    def expected(self) -> str:
        return "Expected no reply"


class PeerClose(NoData):
    """The peer closes (FIN) or resets the stream before any byte arrives."""

    __slots__ = ()
    passes = frozenset({Kind.CLOSED, Kind.RESET})

    def expected(self) -> str:
        return "Expected the peer to close the connection"

    def hint(self, outcome: Outcome) -> str:
        return "; it is still open" if outcome.kind is Kind.TIMED_OUT else ""


class StaysOpen(Expectation):
    """The stream stays open for the whole wait; data may arrive and stays buffered."""

    __slots__ = ("seconds",)
    passes = frozenset({Kind.TIMED_OUT})

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    def scan(self, buffer: bytes | bytearray) -> int | None:
        return None

    def expected(self) -> str:
        return f"Expected the connection to stay open for {seconds_text(self.seconds)}"
