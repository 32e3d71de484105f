"""Faulty and awkward-but-correct variants of the reference servers.

Each faulty variant is one plausible student bug, made by swapping one protocol function
or one handler method of the reference server; the awkward ones are correct but slow,
split their replies into segments, or serve one client at a time. ``tests/verdicts.py``
says which tests each faulty variant must fail, and ``tests/test_stability.py`` proves,
run after run, that it does and that every awkward one passes. The seed programs
themselves, ported faithfully, are in ``tests/seeds/``.

Run one like a reference server: ``python -m tests.variants echo.missing_prefix --port 0``.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from services import BEHAVIOURS, Server
from services.__main__ import StopSignals, serve_until_signalled
from services.protocols import (
    ACK_TEXT,
    BANNER,
    DatagramProtocol,
    StreamProtocol,
    banner_echo_reply,
    echo_reply,
    timestamp_reply,
    welcome_reply,
)
from services.runner import DatagramHandler, StreamHandler

SLOW_SECONDS = 0.2

Protocol = StreamProtocol | DatagramProtocol


@dataclass(frozen=True)
class Variant:
    name: str
    bug: str  # what a grader would write in the margin; "correct: ..." for awkward ones
    protocol: Callable[[float], Protocol] | None = None  # built from the idle timeout
    handler: type | None = None

    @property
    def behaviour(self) -> str:
        return self.name.split(".")[0]

    @property
    def correct(self) -> bool:
        return self.bug.startswith("correct")


# --- handlers: bugs and quirks in how replies travel ---------------------------------------


def _wait(seconds: float) -> None:
    """Pacing that is the quirk under test, not a readiness wait."""
    threading.Event().wait(seconds)


class SplitReplies(StreamHandler):
    """Sends every reply as three segments: its first byte, up to its middle, the rest."""

    def send(self, data: bytes) -> None:
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        middle = max(len(data) // 2, 1)
        for piece in (data[:1], data[1:middle], data[middle:]):
            if piece:
                self.request.sendall(piece)
                _wait(0.002)


class TwoSegmentsApart(StreamHandler):
    """Sends every reply in two halves, 50 ms apart: a client's reset can land between them."""

    def send(self, data: bytes) -> None:
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        middle = len(data) // 2
        self.request.sendall(data[:middle])
        _wait(0.05)
        self.request.sendall(data[middle:])


class SlowReplies(StreamHandler):
    def send(self, data: bytes) -> None:
        _wait(SLOW_SECONDS)
        super().send(data)


class SlowDatagrams(DatagramHandler):
    def handle(self) -> None:
        _wait(SLOW_SECONDS)
        super().handle()


class OneConversationAtATime(StreamHandler):
    """Like a server that accepts and serves in one loop: the next client waits."""

    turn = threading.Lock()

    def handle(self) -> None:
        with self.turn:
            super().handle()


class NeverClosesAfterEOF(StreamHandler):
    """Keeps the connection open once the client has finished sending, as a server does that
    keeps the socket in its list of clients and forgets to close it."""

    forgotten = threading.Event()  # never set: the thread holds the socket until exit

    def handle(self) -> None:
        super().handle()
        if self.ending == "client closed":
            self.forgotten.wait()


class OneClientOnly(StreamHandler):
    """Serves the first client, then the program ends; nobody else is ever served."""

    first_taken = threading.Event()

    def handle(self) -> None:
        if self.first_taken.is_set():
            self.chunks, self.ending = 0, "turned away"
            return
        self.first_taken.set()
        super().handle()
        os.kill(os.getpid(), signal.SIGTERM)


class CrashesOnClientError(StreamHandler):
    """Any socket error from a client (a reset) kills the whole server."""

    def finish(self) -> None:
        super().finish()
        if self.ending.startswith("ended by"):
            os._exit(1)


class CrashesOnBadDatagram(DatagramHandler):
    def handle(self) -> None:
        try:
            super().handle()
        except UnicodeDecodeError:
            os._exit(1)


class RepliesToWrongPort(DatagramHandler):
    """Sends the reply to the port after the client's, as if hard-coded."""

    def handle(self) -> None:
        data, sock = self.request
        host, port = self.client_address[:2]
        sock.sendto(self.server.protocol.reply(data), (host, port % 65535 + 1))


class FirstClientOnly(DatagramHandler):
    """Remembers the first client's address and answers nobody else."""

    first: tuple | None = None

    def handle(self) -> None:
        if FirstClientOnly.first is None:
            FirstClientOnly.first = self.client_address
        if self.client_address == FirstClientOnly.first:
            super().handle()


class NeverAnswers(StreamHandler):
    def send(self, data: bytes) -> None:
        """Swallows every reply; the connection stays open."""


class NeverAnswersDatagrams(DatagramHandler):
    def handle(self) -> None:
        """Drops every datagram."""


# --- protocols: bugs in what the reply says --------------------------------------------------


def _stream(reply: Callable[[bytes], bytes], **options: object) -> Callable[[float], Protocol]:
    return lambda idle_timeout: StreamProtocol(reply, **options)


def _datagram(reply: Callable[[bytes], bytes]) -> Callable[[float], Protocol]:
    return lambda idle_timeout: DatagramProtocol(reply)


def _welcome(
    reply: Callable[[bytes], bytes] = welcome_reply, scale: float | None = 1.0, close: bool = True
) -> Callable[[float], Protocol]:
    return lambda idle_timeout: StreamProtocol(
        reply,
        idle_timeout=None if scale is None else idle_timeout * scale,
        close_after_reply=close,
    )


def _without_invalid_utf8(chunk: bytes) -> bytes:
    """What ``chunk.decode(errors='ignore').encode()`` leaves: valid UTF-8 only."""
    return chunk.decode("utf-8", errors="ignore").encode("utf-8")


def _ack_after_decoding(data: bytes) -> bytes:
    data.decode("gbk")  # a student printing the message first
    return ACK_TEXT.encode("gbk")


VARIANTS: dict[str, Variant] = {
    variant.name: variant
    for variant in (
        # uppercase
        Variant(
            "uppercase.ascii_only",
            "bytes.upper(): only ASCII letters change",
            _datagram(lambda data: data.upper()),
        ),
        Variant(
            "uppercase.trailing_newline",
            "adds a newline to every reply",
            _datagram(lambda data: data.decode().upper().encode() + b"\n"),
        ),
        Variant(
            "uppercase.wrong_port",
            "replies to a fixed port, not the sender's",
            handler=RepliesToWrongPort,
        ),
        Variant(
            "uppercase.crashes_on_invalid_utf8",
            "strict decode; the error kills the server",
            _datagram(lambda data: data.decode("utf-8").upper().encode()),
            CrashesOnBadDatagram,
        ),
        Variant("uppercase.slow", "correct: answers after a pause", handler=SlowDatagrams),
        Variant("uppercase.silent", "never answers", handler=NeverAnswersDatagrams),
        # ack
        Variant(
            "ack.utf8_reply",
            "encodes the acknowledgement in UTF-8",
            _datagram(lambda data: ACK_TEXT.encode("utf-8")),
        ),
        Variant(
            "ack.echoes_data",
            "sends the datagram back instead of the acknowledgement",
            _datagram(lambda data: data),
        ),
        Variant(
            "ack.missing_exclamation_mark",
            "the acknowledgement lacks its final '!'",
            _datagram(lambda data: ACK_TEXT[:-1].encode("gbk")),
        ),
        Variant(
            "ack.crashes_on_invalid_gbk",
            "decodes the datagram; invalid GBK kills it",
            _datagram(_ack_after_decoding),
            CrashesOnBadDatagram,
        ),
        Variant(
            "ack.first_client_only", "answers only the first client it saw", handler=FirstClientOnly
        ),
        Variant("ack.slow", "correct: answers after a pause", handler=SlowDatagrams),
        Variant("ack.silent", "never answers", handler=NeverAnswersDatagrams),
        # timestamp
        Variant(
            "timestamp.no_timestamp",
            "sends the data back without the time",
            _stream(lambda chunk: chunk),
        ),
        Variant(
            "timestamp.data_first",
            "puts the data before the time",
            _stream(lambda chunk: chunk + time.ctime().encode()),
        ),
        Variant(
            "timestamp.space_separated",
            "puts a space between the time and the data",
            _stream(lambda chunk: time.ctime().encode() + b" " + chunk),
        ),
        Variant(
            "timestamp.utc_clock",
            "formats the time in UTC, not local time",
            _stream(lambda chunk: time.asctime(time.gmtime()).encode() + chunk),
        ),
        Variant(
            "timestamp.closes_after_reply",
            "closes the connection after one reply",
            _stream(lambda chunk: timestamp_reply(chunk, time.time()), close_after_reply=True),
        ),
        Variant(
            "timestamp.one_client_only", "serves one client, then exits", handler=OneClientOnly
        ),
        Variant(
            "timestamp.trailing_newline",
            "adds a newline to every reply",
            _stream(lambda chunk: timestamp_reply(chunk, time.time()) + b"\n"),
        ),
        Variant(
            "timestamp.never_closes",
            "never closes the connection after the client has finished sending",
            handler=NeverClosesAfterEOF,
        ),
        Variant(
            "timestamp.crashes_on_reset",
            "a client's reset kills the server",
            handler=CrashesOnClientError,
        ),
        Variant(
            "timestamp.two_segments_apart",
            "correct: every reply in two segments 50 ms apart",
            handler=TwoSegmentsApart,
        ),
        Variant(
            "timestamp.split",
            "correct: every reply split into three segments",
            handler=SplitReplies,
        ),
        Variant("timestamp.slow", "correct: answers after a pause", handler=SlowReplies),
        Variant("timestamp.silent", "never answers", handler=NeverAnswers),
        # welcome_timeout
        Variant(
            "welcome_timeout.no_idle_timeout",
            "waits for ever for the first message",
            _welcome(scale=None),
        ),
        Variant(
            "welcome_timeout.short_timeout",
            "its idle timeout is 40% of the contract's",
            _welcome(scale=0.4),
        ),
        Variant(
            "welcome_timeout.trailing_newline",
            "adds a newline to every reply",
            _welcome(lambda chunk: welcome_reply(chunk) + b"\n"),
        ),
        Variant(
            "welcome_timeout.strips_input",
            "welcomes '1' with whitespace around it",
            _welcome(lambda chunk: welcome_reply(chunk.strip())),
        ),
        Variant(
            "welcome_timeout.no_close",
            "keeps the connection open after the reply",
            _welcome(close=False),
        ),
        Variant(
            "welcome_timeout.one_at_a_time",
            "correct: serves one client at a time, as the seed does",
            handler=OneConversationAtATime,
        ),
        Variant(
            "welcome_timeout.split",
            "correct: every reply split into three segments",
            handler=SplitReplies,
        ),
        Variant("welcome_timeout.slow", "correct: answers after a pause", handler=SlowReplies),
        Variant(
            "welcome_timeout.silent",
            "never answers and never closes",
            _welcome(scale=None),
            NeverAnswers,
        ),
        # echo
        Variant(
            "echo.missing_prefix",
            "sends the data back without 'Echo=>'",
            _stream(lambda chunk: chunk),
        ),
        Variant(
            "echo.trailing_newline",
            "adds a newline to every reply",
            _stream(lambda chunk: echo_reply(chunk) + b"\n"),
        ),
        Variant(
            "echo.closes_after_reply",
            "closes the connection after one reply",
            _stream(echo_reply, close_after_reply=True),
        ),
        Variant(
            "echo.crashes_on_reset",
            "a client's reset kills the server",
            handler=CrashesOnClientError,
        ),
        Variant("echo.one_client_only", "serves one client, then exits", handler=OneClientOnly),
        Variant(
            "echo.never_closes",
            "never closes the connection after the client has finished sending",
            handler=NeverClosesAfterEOF,
        ),
        Variant(
            "echo.drops_invalid_utf8",
            "decodes with errors='ignore': bytes that are not UTF-8 vanish",
            _stream(lambda chunk: echo_reply(_without_invalid_utf8(chunk))),
        ),
        Variant(
            "echo.two_segments_apart",
            "correct: every reply in two segments 50 ms apart",
            handler=TwoSegmentsApart,
        ),
        Variant(
            "echo.split", "correct: every reply split into three segments", handler=SplitReplies
        ),
        Variant("echo.slow", "correct: answers after a pause", handler=SlowReplies),
        Variant("echo.silent", "never answers", handler=NeverAnswers),
        # banner_echo
        Variant(
            "banner_echo.no_banner",
            "sends no banner on connect",
            _stream(lambda chunk: b"OK..." + chunk),
        ),
        Variant(
            "banner_echo.banner_without_newline",
            "the banner lacks its final newline",
            _stream(lambda chunk: b"OK..." + chunk, greeting=BANNER.rstrip(b"\n")),
        ),
        Variant(
            "banner_echo.wrong_prefix",
            "answers 'OK..' instead of 'OK...'",
            _stream(lambda chunk: b"OK.." + chunk, greeting=BANNER),
        ),
        Variant(
            "banner_echo.trailing_nul",
            "sends a C string's terminating NUL after every reply",
            _stream(lambda chunk: banner_echo_reply(chunk) + b"\0", greeting=BANNER),
        ),
        Variant(
            "banner_echo.drops_invalid_utf8",
            "decodes with errors='ignore': bytes that are not UTF-8 vanish",
            _stream(lambda chunk: banner_echo_reply(_without_invalid_utf8(chunk)), greeting=BANNER),
        ),
        Variant(
            "banner_echo.never_closes",
            "never closes the connection after the client has finished sending",
            handler=NeverClosesAfterEOF,
        ),
        Variant(
            "banner_echo.one_at_a_time",
            "serves one client at a time",
            handler=OneConversationAtATime,
        ),
        Variant(
            "banner_echo.split",
            "correct: every reply split into three segments",
            handler=SplitReplies,
        ),
        Variant("banner_echo.slow", "correct: answers after a pause", handler=SlowReplies),
        Variant("banner_echo.silent", "never answers, not even the banner", handler=NeverAnswers),
    )
}
assert {variant.behaviour for variant in VARIANTS.values()} == set(BEHAVIOURS)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.variants", description=__doc__)
    parser.add_argument("name", choices=sorted(VARIANTS))
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--idle-timeout", type=float, default=5.0)
    args = parser.parse_args(argv)
    variant = VARIANTS[args.name]
    logging.basicConfig(
        stream=sys.stderr, level=logging.INFO, format=f"%(asctime)s {variant.name} %(message)s"
    )
    options = {"idle_timeout": args.idle_timeout} if variant.behaviour == "welcome_timeout" else {}
    protocol = variant.protocol(args.idle_timeout) if variant.protocol else None
    stop_signals = StopSignals()
    server = Server(
        variant.behaviour,
        args.host,
        args.port,
        protocol=protocol,
        handler=variant.handler,
        **options,
    )
    serve_until_signalled(server, stop_signals)
    return 0


if __name__ == "__main__":
    sys.exit(main())
