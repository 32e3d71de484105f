"""Small hostile TCP peers for the library tests, built on the services runner.

Each peer runs a script against every client socket; the runner supplies binding, port 0,
threads and clean shutdown, so no test contains its own socket server loop.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress

from services.runner import Server, StreamHandler

Script = Callable[[socket.socket], None]


@contextmanager
def peer(script: Script) -> Iterator[tuple[str, int]]:
    """Serve ``script`` to every client on 127.0.0.1, any port; yields the address."""

    class Scripted(StreamHandler):
        def handle(self) -> None:
            self.chunks = 0
            self.ending = "script done"
            with suppress(OSError):
                script(self.request)

    # A hostile peer gets no grace: stopping cuts its conversations at once.
    with Server("echo", port=0, handler=Scripted, stop_grace=0) as server:
        yield server.host, server.port


def pause(seconds: float) -> None:
    """Pacing that is the behaviour under test (a trickling peer), not a readiness wait."""
    threading.Event().wait(seconds)


def read_until_closed(sock: socket.socket) -> None:
    while sock.recv(65536):
        pass


def never_answers(sock: socket.socket) -> None:
    read_until_closed(sock)


def closes_at_once(sock: socket.socket) -> None:
    """Return at once: the runner half-closes, so the client sees a FIN."""


def resets(sock: socket.socket) -> None:
    sock.recv(65536)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    sock.close()


def floods(sock: socket.socket) -> None:
    block = b"x" * 65536
    while True:
        sock.sendall(block)


def sends(*pieces: bytes, interval: float = 0.0, then: Script = read_until_closed) -> Script:
    """Send each piece as its own segment, ``interval`` apart, then run ``then``."""

    def script(sock: socket.socket) -> None:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for piece in pieces:
            sock.sendall(piece)
            if interval:
                pause(interval)
        then(sock)

    return script


def trickles(data: bytes, interval: float = 0.1) -> Script:
    """One byte every ``interval`` seconds."""
    return sends(*(bytes([byte]) for byte in data), interval=interval)


def echoes_in_single_bytes(sock: socket.socket) -> None:
    """An echo server that sends every reply one byte per segment."""
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    while chunk := sock.recv(65536):
        for byte in b"Echo=>" + chunk:
            sock.sendall(bytes([byte]))
            pause(0.002)


def key_value_store(sock: socket.socket) -> None:
    """A line protocol with CRLF lines, as in the README: SET k v, GET k, STATS."""
    store: dict[str, str] = {}
    buffer = b""
    while chunk := sock.recv(65536):
        buffer += chunk
        while b"\r\n" in buffer:
            line, buffer = buffer.split(b"\r\n", 1)
            command, *args = line.decode().split(" ")
            if command == "SET" and len(args) == 2:
                store[args[0]] = args[1]
                reply = "OK"
            elif command == "GET" and args and args[0] in store:
                reply = f"VALUE {store[args[0]]}"
            elif command == "STATS":
                reply = f"keys={len(store)} total={sum(map(len, store.values()))}"
            else:
                reply = "ERROR"
            sock.sendall(reply.encode() + b"\r\n")
