"""Property-based fuzzing with Hypothesis: protocol cores, servers and the library.

- Protocol cores get arbitrary bytes and arbitrary text in any script.
- Servers get random conversations cut into random chunks, and random datagram sizes up to
  the UDP maximum; they must answer every chunk by the contract and never die.
- The library reads byte streams that a peer delivers in random splits and coalescings;
  the replies it assembles must equal what was sent, whatever the segmentation.
"""

from __future__ import annotations

import itertools
import re
import socket
import threading
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services import serve
from services.protocols import (
    ACK_TEXT,
    GO_OUT,
    PASS_THROUGH,
    WELCOME,
    ack,
    banner_echo_reply,
    echo_reply,
    timestamp_reply,
    uppercase,
    welcome_reply,
)
from tests import peers
from tests.helpers import CTIME, keyword_library, recv_exactly, wait_until

ENCODINGS = ["utf-8", "gbk", "latin-1", "utf-16"]
PURE = settings(max_examples=300, deadline=None)
NETWORK = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


# --- protocol cores -------------------------------------------------------------------------


@PURE
@given(data=st.binary(max_size=2048), encoding=st.sampled_from(ENCODINGS))
def test_uppercase_never_fails_and_keeps_undecodable_bytes(data, encoding):
    reply = uppercase(data, encoding)
    escaped = re.compile("[\udc00-\udcff]")
    original = data.decode(encoding, errors=PASS_THROUGH)
    if encoding == "utf-8":
        # UTF-8 resynchronises, so a stray byte stays a stray byte next to any upper-cased
        # text: every byte that did not decode comes back, unchanged and in order
        answered = reply.decode(encoding, errors=PASS_THROUGH)
        assert escaped.findall(answered) == escaped.findall(original)
    # valid text whose upper case the encoding can carry is simply upper-cased
    if not escaped.search(original):
        try:
            upper = original.upper().encode(encoding)
        except UnicodeEncodeError:
            return
        assert reply == upper


@PURE
@given(text=st.text(max_size=500))
def test_uppercase_of_any_text_is_its_unicode_uppercase(text):
    assert uppercase(text.encode("utf-8")) == text.upper().encode("utf-8")


@PURE
@given(data=st.binary(max_size=1024))
def test_ack_and_prefixes_for_any_bytes(data):
    assert ack(data) == ACK_TEXT.encode("gbk")
    assert echo_reply(data) == b"Echo=>" + data
    assert banner_echo_reply(data) == b"OK..." + data
    assert welcome_reply(data) == (WELCOME if data == b"1" else GO_OUT)


@PURE
@given(
    chunk=st.binary(max_size=512),
    now=st.floats(min_value=0, max_value=4e9),
    style=st.sampled_from(["ctime", "bracket"]),
)
def test_timestamp_for_any_chunk_and_clock(chunk, now, style):
    reply = timestamp_reply(chunk, now, style)
    stamp = time.ctime(now).encode()
    assert reply == (stamp + chunk if style == "ctime" else b"[" + stamp + b"] " + chunk)


# --- servers: random chunking of a conversation -------------------------------------------

chunks = st.lists(st.binary(min_size=1, max_size=3000), min_size=1, max_size=8)


@pytest.fixture(scope="module")
def servers():
    with (
        serve("echo") as echo,
        serve("banner_echo") as banner,
        serve("timestamp") as stamp,
        serve("uppercase") as upper,
        serve("ack") as acknowledge,
    ):
        yield {
            "echo": echo,
            "banner_echo": banner,
            "timestamp": stamp,
            "uppercase": upper,
            "ack": acknowledge,
        }


@NETWORK
@given(conversation=chunks, name=st.sampled_from(["echo", "banner_echo"]))
def test_prefix_servers_answer_every_chunk_by_contract(servers, conversation, name):
    with socket.create_connection(servers[name], timeout=5) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if name == "banner_echo":
            recv_exactly(sock, 52)
        received = b""
        for chunk in conversation:
            sock.sendall(chunk)
            expected = (echo_reply if name == "echo" else banner_echo_reply)(chunk)
            received += recv_exactly(sock, len(expected))
        # chunk by chunk, the replies concatenated are the contract applied to each chunk
        reply = echo_reply if name == "echo" else banner_echo_reply
        assert received == b"".join(reply(chunk) for chunk in conversation)


@NETWORK
@given(conversation=chunks)
def test_timestamp_server_answers_every_chunk(servers, conversation):
    with socket.create_connection(servers["timestamp"], timeout=5) as sock:
        for chunk in conversation:
            sock.sendall(chunk)
            reply = recv_exactly(sock, 24 + len(chunk))
            assert re.fullmatch(CTIME + re.escape(chunk), reply, re.DOTALL)


@NETWORK
@given(size=st.integers(min_value=0, max_value=65507), seed=st.binary(min_size=1, max_size=64))
def test_datagrams_of_any_size(servers, size, seed):
    data = (seed * (size // len(seed) + 1))[:size]
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(5)
        sock.sendto(data, servers["ack"])
        assert sock.recv(65535) == ACK_TEXT.encode("gbk")
        expected = uppercase(data)
        sock.sendto(data, servers["uppercase"])
        if len(expected) <= 65507:
            assert sock.recv(65535) == expected
        sock.sendto(b"still there", servers["uppercase"])  # a too large reply is dropped
        assert sock.recv(65535) == b"STILL THERE"


# --- the library: any segmentation of the same byte stream -------------------------------

replies = st.lists(st.text(min_size=1, max_size=200), min_size=1, max_size=6)


@NETWORK
@given(
    texts=replies,
    cuts=st.lists(st.integers(min_value=0, max_value=2000), max_size=12),
    pauses=st.booleans(),
)
def test_library_reassembles_any_segmentation(texts, cuts, pauses):
    stream = "".join(texts).encode()
    points = sorted({0, len(stream), *(cut % (len(stream) + 1) for cut in cuts)})
    pieces = [stream[a:b] for a, b in itertools.pairwise(points)]
    with (
        keyword_library(timeout="5s") as library,
        peers.peer(peers.sends(*pieces, interval=0.002 if pauses else 0)) as address,
    ):
        library.open_tcp_connection(*address)
        for text in texts:
            library.reply_should_be(text)
        library.no_reply_within("0s")


def test_fuzzing_leaves_no_threads_behind(servers):
    """The servers of this module still answer, and no conversation thread is left over."""
    baseline = threading.active_count()
    with socket.create_connection(servers["echo"], timeout=5) as sock:
        sock.sendall(b"ok")
        assert recv_exactly(sock, 8) == b"Echo=>ok"
    wait_until(lambda: threading.active_count() <= baseline, what="conversation threads to end")
