"""Faulty and awkward-but-correct variants of the reference clients.

Each faulty variant is one plausible student bug, made by swapping one helper of the
reference client (``services.clients``: how it sends, receives, connects, reports) for
a buggy one; the awkward ones are correct but slow, or send in pieces. ``tests/
client_verdicts.py`` says which tests of the client's suite each faulty variant must
fail, and ``tests/test_client_stability.py`` proves, run after run, that it does and
that every awkward one passes.

Run one like a reference client:
``python -m tests.client_variants echo.with_newline --host 127.0.0.1 --port 4000 hello``.
"""

from __future__ import annotations

import contextlib
import socket
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from services import clients

_connect = clients.connect  # the reference's own, before a variant replaces it

SLOW_SECONDS = 0.3


def _pause(seconds: float) -> None:
    """Pacing that is the quirk under test, not a readiness wait."""
    threading.Event().wait(seconds)


# --- replacement helpers: one bug or quirk each ---------------------------------------------


def send_with_newline(sock: socket.socket, data: bytes) -> None:
    sock.sendall(data + b"\n")


def send_slowly(sock: socket.socket, data: bytes) -> None:
    """A slow typist: every message leaves a while after it was due."""
    _pause(SLOW_SECONDS)
    sock.sendall(data)


def send_in_pieces(sock: socket.socket, data: bytes) -> None:
    """Each message in three segments, a little apart (TCP only)."""
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    third = max(len(data) // 3, 1)
    for start in range(0, len(data), third):
        sock.sendall(data[start : start + third])
        _pause(0.02)


def receive_once(sock: socket.socket, count: int = 0) -> bytes:
    """One recv of at most 1024 bytes, as the seed programs do: a long or split reply is cut."""
    return sock.recv(1024)


def receive_bytewise(sock: socket.socket, count: int) -> bytes:
    """Reads a byte at a time: slow, but the whole reply."""
    data = bytearray()
    while len(data) < count and (byte := sock.recv(1)):
        data += byte
    return bytes(data)


def receive_until_closed_bytewise(sock: socket.socket) -> bytes:
    data = bytearray()
    while byte := sock.recv(1):
        data += byte
    return bytes(data)


class LingeringSocket(socket.socket):
    """Forgets to close: at the end it waits for the server to close first."""

    def close(self) -> None:
        with contextlib.suppress(OSError):  # bounded by the client's --timeout
            while self.recv(clients.RECV_SIZE):
                pass
        super().close()


def connect_and_linger(args) -> socket.socket:
    sock = _connect(args)
    lingering = LingeringSocket(sock.family, sock.type, sock.proto, fileno=sock.detach())
    lingering.settimeout(args.timeout)
    return lingering


# The port a "hard-coded" variant uses, whatever it is told: below the ephemeral range and
# used by no other test (see test_process_hygiene.py), so nobody ever listens there.
HARD_CODED_PORT = 18126


def hard_coded_port(args) -> None:
    """Connects to a port of its own, whatever it was told (a seed port, in real life)."""
    args.port = HARD_CODED_PORT


def run_ignoring_errors(args) -> int:
    """Swallows every error: prints nothing and exits 0."""
    with contextlib.suppress(OSError, clients.ClientError):
        clients.CLIENTS[args.name].run(args)
    return 0


def decode_as_utf8(data: bytes, encoding: str = "utf-8") -> str:
    return data.decode("utf-8", errors="replace")


@dataclass(frozen=True)
class ClientVariant:
    name: str
    bug: str  # what a grader would write in the margin; "correct: ..." for awkward ones
    patches: dict[str, object] = field(default_factory=dict)  # services.clients globals
    adjust: Callable[[object], None] | None = None  # changes the parsed arguments
    run: Callable[[object], int] = clients.run  # the runner: reports errors, exit code 1

    @property
    def client(self) -> str:
        return self.name.split(".")[0]

    @property
    def correct(self) -> bool:
        return self.bug.startswith("correct")


NEWLINE = {"send": send_with_newline}
PARTIAL = {"receive_at_least": receive_once, "receive_until_closed": receive_once}
LINGERS = {"connect": connect_and_linger}
SLOW = {"send": send_slowly}
PIECES = {"send": send_in_pieces}
BYTEWISE = {
    "receive_at_least": receive_bytewise,
    "receive_until_closed": receive_until_closed_bytewise,
}

VARIANTS = {
    variant.name: variant
    for variant in (
        ClientVariant("uppercase.with_newline", "sends the line with its newline", NEWLINE),
        ClientVariant("uppercase.hard_coded_port", "ignores --port", adjust=hard_coded_port),
        ClientVariant(
            "uppercase.no_prompt", "prints no prompt", {"read_line": lambda prompt: _typed()}
        ),
        ClientVariant("uppercase.slow", "correct: a slow typist", SLOW),
        ClientVariant("ack.with_newline", "sends the line with its newline", NEWLINE),
        ClientVariant(
            "ack.decodes_utf8", "decodes the GBK reply as UTF-8", {"_text": decode_as_utf8}
        ),
        ClientVariant("ack.hard_coded_port", "ignores --port", adjust=hard_coded_port),
        ClientVariant("ack.slow", "correct: a slow typist", SLOW),
        ClientVariant("timestamp.with_newline", "sends each line with its newline", NEWLINE),
        ClientVariant("timestamp.partial_reply", "prints one receive of a reply", PARTIAL),
        ClientVariant("timestamp.never_closes", "waits for the server to close", LINGERS),
        ClientVariant("timestamp.hard_coded_port", "ignores --port", adjust=hard_coded_port),
        ClientVariant("timestamp.ignores_errors", "exits 0, silent", run=run_ignoring_errors),
        ClientVariant("timestamp.slow", "correct: a slow typist", SLOW),
        ClientVariant("timestamp.pieces", "correct: sends each line in segments", PIECES),
        ClientVariant("timestamp.bytewise", "correct: reads a byte at a time", BYTEWISE),
        ClientVariant("welcome.with_newline", "sends 1 with a newline", NEWLINE),
        ClientVariant("welcome.no_wait", "sends at once", {"WELCOME_WAIT": 0.0}),
        ClientVariant("welcome.hard_coded_port", "ignores --port", adjust=hard_coded_port),
        ClientVariant("welcome.ignores_errors", "exits 0, silent", run=run_ignoring_errors),
        ClientVariant("welcome.bytewise", "correct: reads a byte at a time", BYTEWISE),
        ClientVariant("echo.with_newline", "sends each message with a newline", NEWLINE),
        ClientVariant("echo.partial_reply", "prints one receive of a reply", PARTIAL),
        ClientVariant("echo.never_closes", "waits for the server to close", LINGERS),
        ClientVariant("echo.hard_coded_port", "ignores --port", adjust=hard_coded_port),
        ClientVariant("echo.ignores_errors", "exits 0, silent", run=run_ignoring_errors),
        ClientVariant("echo.slow", "correct: a slow typist", SLOW),
        ClientVariant("echo.pieces", "correct: sends each message in segments", PIECES),
        ClientVariant(
            "http.no_blank_line",
            "ends the request after one CR LF",
            {"HTTP_REQUEST": b"GET / HTTP/1.1\r\n"},
        ),
        ClientVariant("http.partial_reply", "prints one receive of the response", PARTIAL),
        ClientVariant("http.hard_coded_port", "ignores --port", adjust=hard_coded_port),
        ClientVariant("http.ignores_errors", "exits 0, silent", run=run_ignoring_errors),
        ClientVariant("http.pieces", "correct: sends the request in segments", PIECES),
        ClientVariant("http.bytewise", "correct: reads a byte at a time", BYTEWISE),
    )
}


def _typed() -> str | None:
    line = sys.stdin.readline()
    return line.rstrip("\n") if line else None


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in VARIANTS:
        print(
            f"usage: python -m tests.client_variants VARIANT [options]; one of: "
            f"{', '.join(VARIANTS)}",
            file=sys.stderr,
        )
        return 2
    variant = VARIANTS[argv[0]]
    args = clients.build_parser().parse_args([variant.client, *argv[1:]])
    for name, value in variant.patches.items():
        setattr(clients, name, value)
    if variant.adjust:
        variant.adjust(args)
    return variant.run(args)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
