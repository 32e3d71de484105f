"""Every waiting keyword against every hostile peer: bounded, explained, nothing leaked.

For each (peer, keyword) the table says whether the keyword passes or how its failure
message reads. Every case must end within its timeout + 0.5 s, keep its receive buffer
under the cap, and leave no socket or thread behind (counted in /proc/self/fd and
threading before and after).
"""

from __future__ import annotations

import os
import re
import select
import socket
import threading
import time

import pytest

from SocketLibrary import SocketFailure, SocketLibrary
from tests import peers
from tests.helpers import keyword_library, wait_until

TIMEOUT = 0.5
CAP = 64 * 1024

PEERS = {
    "silent": peers.never_answers,
    "trickle": peers.trickles(b"x" * 50, interval=0.1),
    "flood": peers.floods,
    "reset": peers.resets,
    "close": peers.closes_at_once,
    "mid-reply": peers.sends(b"Echo=", then=peers.closes_at_once),
}

# keyword -> arguments; each is called with timeout / within / duration of TIMEOUT
KEYWORDS = {
    "reply_should_be": ("Echo=>hi",),
    "reply_should_be_bytes": ("45 63 68 6f 3d 3e 68 69",),
    "reply_should_match": (r"Echo=>\w+!",),
    "receive": (),
    "receive_until": ("!",),
    "receive_line": (),
    "receive_exactly": (CAP * 2,),
    "connection_should_be_closed": (),
    "connection_should_stay_open": (),
    "no_reply_within": (),
}

NOTHING = "but received nothing within 500ms"
CLOSED = "before the peer closed the connection"
RESET = "before the peer reset the connection"
FULL = "unread bytes filled the receive buffer after"
ARRIVED = "but received 'x"
STILL_OPEN = "but received nothing within 500ms; it is still open"
PASSES = None

# peer -> keyword -> None (passes) or a phrase the failure message contains
EXPECTED = {
    "silent": {
        **dict.fromkeys(KEYWORDS, NOTHING),
        "receive_line": "but received no complete line within 500ms",
        "connection_should_be_closed": STILL_OPEN,
        "connection_should_stay_open": PASSES,
        "no_reply_within": PASSES,
    },
    "trickle": {
        "reply_should_be": ARRIVED,
        "reply_should_be_bytes": ARRIVED,
        "reply_should_match": ARRIVED,
        "receive": PASSES,
        "receive_until": ARRIVED,
        "receive_line": ARRIVED,
        "receive_exactly": ARRIVED,
        "connection_should_be_closed": ARRIVED,
        "connection_should_stay_open": PASSES,
        "no_reply_within": ARRIVED,
    },
    "flood": {
        "reply_should_be": ARRIVED,
        "reply_should_be_bytes": ARRIVED,
        "reply_should_match": FULL,
        "receive": PASSES,
        "receive_until": FULL,
        "receive_line": FULL,
        "receive_exactly": FULL,
        "connection_should_be_closed": ARRIVED,
        "connection_should_stay_open": FULL,
        "no_reply_within": ARRIVED,
    },
    "reset": {
        **dict.fromkeys(KEYWORDS, RESET),
        "connection_should_be_closed": PASSES,
        "connection_should_stay_open": "but received nothing before the peer reset the connection",
        "no_reply_within": PASSES,
    },
    "close": {
        **dict.fromkeys(KEYWORDS, CLOSED),
        "connection_should_be_closed": PASSES,
        "connection_should_stay_open": "but received nothing " + CLOSED,
        "no_reply_within": PASSES,
    },
    "mid-reply": {
        **dict.fromkeys(KEYWORDS, CLOSED),
        "receive": PASSES,
        "connection_should_be_closed": "but received 'Echo=' (5 bytes)",
        "connection_should_stay_open": "but received 'Echo=' (5 bytes) " + CLOSED,
        "no_reply_within": "but received 'Echo=' (5 bytes)",
    },
}


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def call(library: SocketLibrary, keyword: str, args: tuple) -> None:
    if keyword == "connection_should_be_closed":
        library.connection_should_be_closed(within=f"{TIMEOUT}s")
    elif keyword in ("connection_should_stay_open", "no_reply_within"):
        getattr(library, keyword)(f"{TIMEOUT}s")
    else:
        getattr(library, keyword)(*args, timeout=f"{TIMEOUT}s")


@pytest.mark.parametrize("keyword", KEYWORDS)
@pytest.mark.parametrize("peer", PEERS)
def test_waiting_keyword_against_hostile_peer(peer, keyword):
    fds, threads = open_fds(), threading.active_count()
    expected = EXPECTED[peer][keyword]
    with (
        peers.peer(PEERS[peer]) as address,
        keyword_library(timeout="5s", buffer_limit=CAP) as library,
    ):
        library.open_tcp_connection(*address)
        if peer == "reset":
            library.send("provoke")
        if peer != "silent":
            # The peer acts first (sends, closes, resets) however late its thread runs, so
            # the case does not depend on the machine's load.
            connection = library._connections.current
            assert select.select([connection.sock], [], [], 5)[0], f"{peer} did not act"
        started = time.monotonic()
        try:
            call(library, keyword, KEYWORDS[keyword])
            outcome = None
        except SocketFailure as failure:
            outcome = str(failure)
        waited = time.monotonic() - started
        pending = len(library._connections.current.pending)
    assert waited <= TIMEOUT + 0.5, f"{keyword} took {waited:.2f}s"
    assert pending <= CAP
    if expected is PASSES:
        assert outcome is None, outcome
    else:
        assert outcome is not None, f"{keyword} passed against {peer}"
        assert expected in outcome, outcome
        # what was expected, and how long it waited or was allowed to wait
        assert outcome.startswith("Expected "), outcome
        assert re.search(r"(within|after) [\d.]+m?s\b|at once$", outcome), outcome
    # more sockets or threads than before is a leak (fewer: an earlier test's thread ended)
    wait_until(
        lambda: open_fds() <= fds and threading.active_count() <= threads,
        what="the sockets and threads of the case to be released",
    )


@pytest.mark.parametrize("transport", ["tcp", "udp"])
def test_refused(transport):
    fds = open_fds()
    with socket.socket(
        socket.AF_INET, socket.SOCK_DGRAM if transport == "udp" else socket.SOCK_STREAM
    ) as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with keyword_library(timeout=f"{TIMEOUT}s") as library:
        started = time.monotonic()
        with pytest.raises(
            SocketFailure, match=re.escape(f"Connection refused by 127.0.0.1:{port}")
        ):
            if transport == "tcp":
                library.open_tcp_connection("127.0.0.1", port)
            else:
                library.open_udp_connection("127.0.0.1", port)
                library.send("anyone?")
                library.reply_should_be("ANYONE?")
        assert time.monotonic() - started <= TIMEOUT + 0.5
    assert open_fds() == fds


def test_udp_datagram_from_a_wrong_address_is_not_a_reply():
    fds = open_fds()
    with (
        socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as server,
        socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as intruder,
        keyword_library(timeout=f"{TIMEOUT}s") as library,
    ):
        server.bind(("127.0.0.1", 0))
        library.open_udp_connection(*server.getsockname())
        library.send("question")
        client_address = server.recvfrom(100)[1]
        intruder.sendto(b"ANSWER", client_address)  # right port, wrong sender
        started = time.monotonic()
        with pytest.raises(SocketFailure, match="Expected 'ANSWER' but received nothing"):
            library.reply_should_be("ANSWER")
        assert time.monotonic() - started <= TIMEOUT + 0.5
        server.sendto(b"ANSWER", client_address)  # the server's own reply still counts
        library.reply_should_be("ANSWER")
    assert open_fds() == fds
