"""The floors the round-trip benchmark compares against: a no-op keyword and a raw loop."""

import socket

from robot.api import logger


def no_op() -> None:
    """Does nothing: what one keyword call costs in Robot Framework itself."""


def log_one_line() -> None:
    """A no-op that logs one transcript-like line: what a message in log.html costs."""
    logger.info("+0.001s #1 \u2192 5 B 'ping\\n'")


def raw_round_trips(host: str, port: int, count: int) -> None:
    """``count`` checked round trips in plain Python, inside a single keyword."""
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        expected = b"Echo=>ping\n"
        for _ in range(int(count)):
            sock.sendall(b"ping\n")
            received = b""
            while len(received) < len(expected):
                chunk = sock.recv(64)
                if not chunk:
                    raise AssertionError("closed")
                received += chunk
            if received != expected:
                raise AssertionError(received)
