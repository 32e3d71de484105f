"""Sans-IO cores of the six behaviours: bytes in, bytes out, no sockets.

Clock, encoding and idle timeout are parameters, so every rule here is testable without
a network or a sleep. The runner (``services.runner``) feeds these from real sockets.
"""

from __future__ import annotations

import codecs
import time
from collections.abc import Callable
from typing import NamedTuple

ACK_TEXT = "服务端收到信息啦!"
WELCOME = b"welcome to server!"
GO_OUT = b"please go out!"
BANNER = b"Welcome to the server. Type something and hit enter\n"
ECHO_PREFIX = b"Echo=>"
OK_PREFIX = b"OK..."
TIMESTAMP_STYLES = ("ctime", "bracket")


def uppercase(data: bytes, encoding: str = "utf-8") -> bytes:
    """Upper-case a datagram's text: ``straße`` -> ``STRASSE``.

    Bytes that do not decode are passed through unchanged, in place, so an undecodable
    message is answered, never dropped. A character whose upper-case form the encoding
    cannot represent (``ÿ`` -> ``Ÿ`` in Latin-1) is left as it is. Where an encoding cannot
    carry a stray byte at all (an odd byte count in UTF-16), the datagram comes back as
    it came.
    """
    text = data.decode(encoding, errors=PASS_THROUGH)
    try:
        return text.upper().encode(encoding, errors=PASS_THROUGH)
    except UnicodeEncodeError:
        pass
    try:
        return "".join(_upper_if_encodable(char, encoding) for char in text).encode(
            encoding, errors=PASS_THROUGH
        )
    except UnicodeEncodeError:
        return data


def _upper_if_encodable(char: str, encoding: str) -> str:
    upper = char.upper()
    try:
        upper.encode(encoding, errors=PASS_THROUGH)
    except UnicodeEncodeError:
        return char
    return upper


def _pass_through(error: UnicodeError) -> tuple[str | bytes, int]:
    """Like ``surrogateescape``, for every byte and every codec (it refuses bytes < 0x80).

    Decoding maps each undecodable byte b to the lone surrogate U+DC00+b; encoding maps
    those back to the bytes. Lone surrogates never come out of valid text.
    """
    if isinstance(error, UnicodeDecodeError):
        bad = error.object[error.start : error.end]
        return "".join(chr(0xDC00 + byte) for byte in bad), error.end
    if isinstance(error, UnicodeEncodeError):
        chars = error.object[error.start : error.end]
        if all(0xDC00 <= ord(char) <= 0xDCFF for char in chars):
            return bytes(ord(char) - 0xDC00 for char in chars), error.end
    raise error


PASS_THROUGH = "services.pass_through"
codecs.register_error(PASS_THROUGH, _pass_through)


def ack(data: bytes, encoding: str = "gbk") -> bytes:
    """The fixed acknowledgement ``服务端收到信息啦!``, whatever the datagram held."""
    del data  # the contract ignores the content
    return ACK_TEXT.encode(encoding)


def timestamp_reply(chunk: bytes, now: float, style: str = "ctime") -> bytes:
    """``time.ctime(now)`` followed by the chunk; ``[ctime] chunk`` in the bracket style."""
    stamp = time.ctime(now).encode("ascii")
    if style == "ctime":
        return stamp + chunk
    if style == "bracket":
        return b"[" + stamp + b"] " + chunk
    raise ValueError(f"unknown timestamp style {style!r}; expected one of {TIMESTAMP_STYLES}")


def welcome_reply(first_chunk: bytes) -> bytes:
    """Exactly ``1`` is welcome; anything else, ``1\\n`` included, is sent away."""
    return WELCOME if first_chunk == b"1" else GO_OUT


def echo_reply(chunk: bytes) -> bytes:
    return ECHO_PREFIX + chunk


def banner_echo_reply(chunk: bytes) -> bytes:
    return OK_PREFIX + chunk


class StreamProtocol(NamedTuple):
    """What one TCP client experiences.

    ``reply`` answers each received chunk. ``idle_timeout`` bounds the wait for a chunk
    (``None`` waits for ever). ``close_after_reply`` ends the conversation after the
    first answer.
    """

    reply: Callable[[bytes], bytes]
    greeting: bytes = b""
    idle_timeout: float | None = None
    close_after_reply: bool = False


class DatagramProtocol(NamedTuple):
    """Each datagram gets ``reply(datagram)``, sent back to its own sender."""

    reply: Callable[[bytes], bytes]
