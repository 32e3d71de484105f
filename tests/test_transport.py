"""The transport's wait primitive on real sockets: every way a wait ends is an outcome,
and every outcome becomes one failure message."""

from __future__ import annotations

import select
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from SocketLibrary.display import failure
from SocketLibrary.expectations import (
    AnyData,
    Contains,
    Exactly,
    Line,
    NoData,
    Pattern,
    PeerClose,
    Search,
    StaysOpen,
)
from SocketLibrary.transport import (
    DatagramConnection,
    Kind,
    Outcome,
    StreamConnection,
    open_datagram,
    open_stream,
)
from tests.helpers import reset


@contextmanager
def tcp_pair(buffer_limit: int = 1024) -> Iterator[tuple[StreamConnection, socket.socket]]:
    """A StreamConnection to a socket this test plays the server with."""
    with socket.create_server(("127.0.0.1", 0)) as listener:
        client = open_stream(
            *listener.getsockname(),
            connect_timeout=5,
            buffer_limit=buffer_limit,
            encoding="UTF-8",
            timeout=5,
        )
        server, _ = listener.accept()
    try:
        yield client, server
    finally:
        client.close()
        server.close()


@contextmanager
def udp_pair() -> Iterator[tuple[DatagramConnection, socket.socket, tuple[str, int]]]:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as server:
        server.bind(("127.0.0.1", 0))
        client = open_datagram(*server.getsockname(), encoding="UTF-8", timeout=5)
        try:
            yield client, server, client.sock.getsockname()
        finally:
            client.close()


def test_stream_match_is_consumed_only_when_asked_and_the_rest_stays():
    with tcp_pair() as (client, server):
        server.sendall(b"Echo=>hi and more")
        outcome = client.wait(Exactly(b"Echo=>hi", "UTF-8"), 5)
        assert (outcome.kind, outcome.data, outcome.timeout) == (Kind.MATCHED, b"Echo=>hi", 5)
        assert client.pending.startswith(b"Echo=>hi"), "waiting consumes nothing"
        client.consume(outcome)
        assert client.wait(Exactly(b" and more", "UTF-8"), 5).kind is Kind.MATCHED


def test_stream_differs_at_the_first_wrong_byte_without_waiting():
    with tcp_pair() as (client, server):
        server.sendall(b"Echo=>hO")
        outcome = client.wait(Exactly(b"Echo=>hi, and the rest", "UTF-8"), 30)
        assert (outcome.kind, outcome.data) == (Kind.DIFFERS, b"Echo=>hO")
        assert outcome.waited < 5


def test_stream_timeout_keeps_the_partial_reply():
    with tcp_pair() as (client, server):
        server.sendall(b"Ech")
        select.select([client.sock], [], [], 5)  # it has arrived before the wait begins
        outcome = client.wait(Exactly(b"Echo", "UTF-8"), 0.2)
        assert (outcome.kind, outcome.data) == (Kind.TIMED_OUT, b"Ech")
        assert 0.2 <= outcome.waited < 5
        assert client.pending == b"Ech"


def test_stream_close_and_reset_are_outcomes_that_stay():
    with tcp_pair() as (client, server):
        server.sendall(b"bye")
        server.shutdown(socket.SHUT_WR)
        assert client.wait(PeerClose(), 5).kind is Kind.DIFFERS
        for _ in range(2):  # the peer's end is remembered
            outcome = client.wait(Exactly(b"bye!", "UTF-8"), 5)
            assert (outcome.kind, outcome.data, outcome.late) == (Kind.CLOSED, b"bye", False)
    with tcp_pair() as (client, server):
        client.send(b"provoke")  # unread data makes the close an RST
        reset(server)
        assert client.wait(AnyData(), 5).kind is Kind.RESET


class StallingMatcher:
    """Its first look outlasts the wait, and the peer closes meanwhile: what a client that
    gets no CPU before its deadline sees when it runs again."""

    def __init__(self, client: StreamConnection, server: socket.socket, stall: float) -> None:
        self.client, self.server, self.stall = client, server, stall
        self.stalled = False

    def scan(self, buffer: bytearray) -> int | None:
        if not self.stalled:
            self.stalled = True
            time.sleep(self.stall)  # the stall is the behaviour under test
            self.server.shutdown(socket.SHUT_WR)  # the peer closes after the deadline
            select.select([self.client.sock], [], [], 5)  # and the FIN has arrived
        return None

    def whole(self, datagram: bytes) -> bool:
        return False


def test_an_end_seen_only_after_the_deadline_is_late():
    with tcp_pair() as (client, server):
        outcome = client.wait(StallingMatcher(client, server, stall=0.3), 0.1)
    assert (outcome.kind, outcome.late) == (Kind.CLOSED, True)


@pytest.mark.parametrize(
    ("expectation", "kind", "passes_in_time", "passes_late"),
    [
        # a timeout would have passed: what came late gets the benefit of the doubt
        (StaysOpen(1), Kind.CLOSED, False, True),
        (StaysOpen(1), Kind.RESET, False, True),
        (NoData(), Kind.DIFFERS, False, True),
        # a timeout would have failed too: late or not, it fails
        (Exactly(b"x", "UTF-8"), Kind.CLOSED, False, False),
        (PeerClose(), Kind.DIFFERS, False, False),
        (Exactly(b"x", "UTF-8"), Kind.MATCHED, True, True),
    ],
)
def test_late_outcomes_pass_where_a_timeout_would(expectation, kind, passes_in_time, passes_late):
    in_time, late = (Outcome(kind, b"x", 1.2, 1, late=flag) for flag in (False, True))
    assert (expectation.passed(in_time), expectation.passed(late)) == (
        passes_in_time,
        passes_late,
    )


def test_stream_buffer_full():
    with tcp_pair(buffer_limit=100) as (client, server):
        server.sendall(b"x" * 150)
        outcome = client.wait(StaysOpen(5), 5)
        assert (outcome.kind, outcome.data) == (Kind.BUFFER_FULL, b"x" * 100)


def test_stream_wait_on_a_closed_connection_fails_with_the_reason():
    with tcp_pair() as (client, _server):
        client.close()
        outcome = client.wait(AnyData(), 5)
    assert outcome.kind is Kind.FAILED
    assert outcome.reason.startswith("the connection to 127.0.0.1:")


def test_datagram_is_whole_and_a_differing_one_stays_pending():
    with udp_pair() as (client, server, address):
        server.sendto(b"HELLO", address)
        outcome = client.wait(Exactly(b"HELLO\n", "UTF-8"), 5)
        assert (outcome.kind, outcome.data) == (Kind.DIFFERS, b"HELLO")
        outcome = client.wait(Pattern("HEL+O", "UTF-8"), 5)
        assert (outcome.kind, outcome.data) == (Kind.MATCHED, b"HELLO")
        client.consume(outcome)
        assert client.wait(AnyData(), 0.1).kind is Kind.TIMED_OUT


def test_datagram_prefix_is_not_a_match():
    with udp_pair() as (client, server, address):
        server.sendto(b"HELLO WORLD", address)
        assert client.wait(Exactly(b"HELLO", "UTF-8"), 5).kind is Kind.DIFFERS
        assert client.wait(Pattern("HELLO", "UTF-8"), 5).kind is Kind.DIFFERS


def test_datagram_refused_is_a_failed_outcome():
    with udp_pair() as (client, server, _address):
        server.close()  # nothing listens there any more: ICMP port unreachable
        client.send(b"anyone?")
        outcome = client.wait(AnyData(), 5)
    assert outcome.kind is Kind.FAILED
    assert outcome.reason.endswith("nothing listens on that UDP port (ICMP port unreachable)")


@pytest.mark.parametrize(
    ("expectation", "outcome", "message"),
    [
        (
            Exactly(b"Echo=>hello", "UTF-8"),
            Outcome(Kind.DIFFERS, b"Echo=>hellO", 0.012, 10),
            "Expected 'Echo=>hello' but received 'Echo=>hellO' (11 bytes) at once",
        ),
        (
            Exactly(b"a" * 50, "UTF-8"),
            Outcome(Kind.DIFFERS, b"a" * 45 + b"b", 0.001, 2),
            f"Expected '{'a' * 50}' but received '{'a' * 45}b' (46 bytes) at once"
            "; the first difference is at byte 45",
        ),
        (
            Exactly(b"x", "UTF-8"),
            Outcome(Kind.TIMED_OUT, b"", 0.5, 0.5),
            "Expected 'x' but received nothing within 500ms",
        ),
        (
            Exactly(b"Echo=>hi", "UTF-8"),
            Outcome(Kind.CLOSED, b"Echo=", 0.008, 2),
            "Expected 'Echo=>hi' but received 'Echo=' (5 bytes) before the peer closed the "
            "connection (after 8ms)",
        ),
        (
            AnyData(),
            Outcome(Kind.RESET, b"", 1.5, 2),
            "Expected data but received nothing before the peer reset the connection (after 1.5s)",
        ),
        (
            StaysOpen(4),
            Outcome(Kind.BUFFER_FULL, b"\xff" * 3, 0.25, 4),
            "Expected the connection to stay open for 4s but 3 unread bytes filled the "
            "receive buffer after 250ms. They begin with hex ff ff ff",
        ),
        (
            Pattern(r"\d+", "UTF-8"),
            Outcome(Kind.FAILED, b"", 0, 2, "Connection refused by 127.0.0.1:9"),
            "Expected a reply matching '\\\\d+' but: Connection refused by 127.0.0.1:9",
        ),
        (
            NoData(),
            Outcome(Kind.DIFFERS, b"", 0, 1),
            "Expected no reply but received an empty datagram at once",
        ),
        (
            PeerClose(),
            Outcome(Kind.TIMED_OUT, b"", 0.3, 0.3),
            "Expected the peer to close the connection but received nothing within 300ms; "
            "it is still open",
        ),
        (
            Line(b"\n", "\n"),
            Outcome(Kind.TIMED_OUT, b"", 0.3, 0.3),
            "Expected a line ending in '\\n' but received no complete line within 300ms",
        ),
        (
            Line(b"\r\n", "\r\n"),
            Outcome(Kind.TIMED_OUT, b"VALUE 1\n", 0.3, 0.3),
            "Expected a line ending in '\\r\\n' but received 'VALUE 1\\n' (8 bytes), "
            "no complete line, within 300ms",
        ),
        (
            Contains(b"OK", "OK"),
            Outcome(Kind.TIMED_OUT, b"ERR", 1, 1),
            "Expected a reply containing 'OK' but received 'ERR' (3 bytes) within 1s",
        ),
        (
            Search(r"VALUE \d+", "UTF-8"),
            Outcome(Kind.CLOSED, b"NOT FOUND", 0.004, 1),
            "Expected a reply containing a match for 'VALUE \\\\d+' but received "
            "'NOT FOUND' (9 bytes) before the peer closed the connection (after 4ms)",
        ),
    ],
)
def test_one_failure_message_per_outcome(expectation, outcome, message):
    assert failure(expectation, outcome, "UTF-8") == message
