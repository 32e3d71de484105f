"""How bytes, text and durations are shown in failures and in the transcript.

Whitespace and control characters are always visible (``'HELLO\\n'``), and bytes that do
not decode are shown as hex, so a grader can see exactly what crossed the wire.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Sequence
from datetime import timedelta
from typing import TYPE_CHECKING

from robot.utils import timestr_to_secs

from .transport import Kind, Outcome

if TYPE_CHECKING:
    from .expectations import Expectation

# A failure or transcript line shows at most this much; the rest is summarised.
SHOWN_BYTES = 300

_ESCAPES = {"\\": "\\\\", "'": "\\'", "\n": "\\n", "\r": "\\r", "\t": "\\t"}
_INVISIBLE = re.compile(r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028\u2029\ufeff\\']")


def quote(text: str) -> str:
    """``'text'`` with whitespace, control and zero-width characters escaped."""
    return "'" + _INVISIBLE.sub(_escape, text) + "'"


def shown_command(args: Sequence[str]) -> str:
    """A command line as a shell reads it, each long argument cut after ``SHOWN_BYTES``
    characters, so that a 60,000-character argument does not fill the log three times."""
    return " ".join(
        shlex.quote(arg)
        if len(arg) <= SHOWN_BYTES
        else f"{shlex.quote(arg[:SHOWN_BYTES])}... and {len(arg) - SHOWN_BYTES} more characters"
        for arg in args
    )


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    if char in _ESCAPES:
        return _ESCAPES[char]
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def hex_bytes(data: bytes) -> str:
    return data.hex(" ")


def shown(data: bytes, encoding: str) -> str:
    """Quoted text when ``data`` decodes in ``encoding``, else hex; long data is cut."""
    cut = data[:SHOWN_BYTES]
    rest = len(data) - len(cut)
    try:
        text = quote(cut.decode(encoding))
    except UnicodeDecodeError as error:
        # A multibyte character split by the cut is still text.
        if rest and error.start >= len(cut) - 4 and error.reason == "unexpected end of data":
            text = quote(cut[: error.start].decode(encoding))
            rest += len(cut) - error.start
        else:
            text = "hex " + hex_bytes(cut)
    return f"{text} ... and {rest} more bytes" if rest else text


def described(data: bytes, encoding: str) -> str:
    """What was received, for failure messages: ``'HEL' (3 bytes)`` or ``nothing``."""
    if not data:
        return "nothing"
    unit = "byte" if len(data) == 1 else "bytes"
    return f"{shown(data, encoding)} ({len(data)} {unit})"


def failure(expectation: Expectation, outcome: Outcome, encoding: str) -> str:
    """The one way a wait's outcome becomes a failure message: what was expected, what
    arrived (whitespace visible), and how long the wait took (a close), was allowed to
    take (a timeout), or that it failed at once (a difference). The expectation words
    the timeout, and may add a
    clause (where a long reply differs)."""
    data = outcome.data
    kind = outcome.kind
    # Only a datagram can differ while empty.
    received = (
        "an empty datagram" if kind is Kind.DIFFERS and not data else described(data, encoding)
    )
    if kind is Kind.FAILED:
        what = f"but: {outcome.reason}"
    elif kind is Kind.BUFFER_FULL:
        what = (
            f"but {len(data)} unread bytes filled the receive buffer after "
            f"{seconds_text(outcome.waited)}. They begin with {shown(data[:SHOWN_BYTES], encoding)}"
        )
    elif kind in (Kind.CLOSED, Kind.RESET):
        what = (
            f"but received {received} before the peer {kind.value} the connection "
            f"(after {seconds_text(outcome.waited)})"
        )
    elif kind is Kind.DIFFERS:
        # As soon as the wrong bytes arrived, not at the timeout. How long they took to
        # come is in the transcript: a message that varied with the machine's load
        # would make a grader's summary differ from run to run.
        what = f"but received {received} at once"
    else:
        what = expectation.timed_out(received, seconds_text(outcome.timeout))
    return f"{expectation.expected()} {what}{expectation.hint(outcome)}"


def parse_hex(text: str) -> bytes:
    """``ff 00 41``, ``ff0041`` or ``0xff 0x00`` to bytes, with a clear error otherwise."""
    cleaned = re.sub(r"0x|[\s,:]", "", text, flags=re.IGNORECASE)
    try:
        return bytes.fromhex(cleaned)
    except ValueError:
        raise ValueError(f"{text!r} is not a hex string such as 'ff 00 41'") from None


def to_seconds(value: timedelta | float | str) -> float:
    """Robot time (``500 ms``, ``2s``, ``1 min``), a number of seconds, or a timedelta."""
    seconds = value.total_seconds() if isinstance(value, timedelta) else timestr_to_secs(value)
    if seconds < 0:
        raise ValueError(f"a time cannot be negative: {value!r}")
    return seconds


def seconds_text(seconds: float) -> str:
    """Short and exact enough for a failure message: ``5s``, ``1.5s``, ``250ms``."""
    if seconds < 1:
        return f"{seconds * 1000:.0f}ms"
    return f"{seconds:.2f}".rstrip("0").rstrip(".") + "s"
