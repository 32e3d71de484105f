"""SocketLibrary called directly, against reference servers and hostile peers."""

from __future__ import annotations

import re
import socket
import time
from pathlib import Path

import pytest
from robot.libdoc import LibraryDocumentation

from services import serve
from services.protocols import ACK_TEXT, BANNER
from SocketLibrary import SocketFailure
from tests import peers
from tests.helpers import keyword_library, serve_on_ipv6_loopback

ROOT = Path(__file__).resolve().parent.parent
# A difference fails as soon as the wrong bytes arrive, however long they took.
WHEN = "at once"


def fails(call, *args, limit: float, **kwargs) -> str:
    """Call a keyword that must fail no later than ``limit`` + 0.5 s; return its message."""
    started = time.monotonic()
    with pytest.raises(SocketFailure) as failure:
        call(*args, **kwargs)
    waited = time.monotonic() - started
    assert waited <= limit + 0.5, f"failed only after {waited:.2f}s: {failure.value}"
    return str(failure.value)


# --- against the reference servers -------------------------------------------------------


def test_echo_round_trips(lib):
    with serve("echo") as address:
        assert lib.open_tcp_connection(*address) == 1
        for text in ("hello", "straße", "tab\there", "line\n"):
            lib.send(text)
            lib.reply_should_be("Echo=>" + text)


def test_reply_should_be_fails_at_the_first_wrong_byte(lib):
    with serve("echo") as address:
        lib.open_tcp_connection(*address, timeout="10s")
        lib.send("hellO")
        message = fails(lib.reply_should_be, "Echo=>hello", limit=5)  # not the 10s
        # the reply is buffered now: a second check sees the difference at once
        again = fails(lib.reply_should_be, "Echo=>hello", limit=0)
    assert re.fullmatch(
        "Expected 'Echo=>hello' but received 'Echo=>hellO' \\(11 bytes\\) " + WHEN, message
    ), message
    assert again == "Expected 'Echo=>hello' but received 'Echo=>hellO' (11 bytes) at once"


def test_long_mismatch_names_the_first_differing_byte(lib):
    with serve("echo") as address:
        lib.open_tcp_connection(*address)
        lib.send("a" * 50 + "b")
        message = fails(lib.reply_should_be, "Echo=>" + "a" * 51, limit=2)
    assert message.endswith("; the first difference is at byte 56")


def test_surplus_bytes_stay_buffered_for_the_next_read(lib):
    with serve("echo") as address:
        lib.open_tcp_connection(*address)
        lib.send("first")
        lib.reply_should_be("Echo=>fi")
        assert lib.receive_exactly(3) == "rst"
        lib.send("x")
        lib.reply_should_be("Echo=>x")


def test_udp_uppercase_and_whole_datagram_comparison(lib):
    with serve("uppercase") as address:
        lib.open_udp_connection(*address, alias="upper")
        lib.send("straße")
        lib.reply_should_be("STRASSE")
        lib.send("hello")
        message = fails(lib.reply_should_be, "HELLO\n", limit=2)
    assert re.fullmatch(r"Expected 'HELLO\\n' but received 'HELLO' \(5 bytes\) " + WHEN, message)


def test_gbk_encoding(lib):
    with serve("ack") as address:
        lib.open_udp_connection(*address, encoding="GBK")
        lib.send("你好")
        lib.reply_should_be(ACK_TEXT)
        lib.send("again")
        lib.reply_should_be_bytes(ACK_TEXT.encode("gbk").hex(" "))


def test_gbk_text_over_tcp(lib):
    with serve("echo") as address:
        lib.open_tcp_connection(*address, encoding="GBK")
        lib.send("中文")
        assert lib.receive_exactly(10, as_bytes=True) == b"Echo=>" + "中文".encode("gbk")


def test_unencodable_text_is_a_clear_error(lib):
    with serve("echo") as address:
        lib.open_tcp_connection(*address, encoding="latin-1")
        with pytest.raises(ValueError, match="cannot encode '中' in latin-1"):
            lib.send("中")


def test_hex_bytes(lib):
    with serve("echo") as address:
        lib.open_tcp_connection(*address)
        lib.send_bytes("ff 00 41")
        lib.reply_should_be_bytes("45 63 68 6f 3d 3e ff 00 41")
        lib.send_bytes(b"\x01\x02")
        lib.reply_should_be_bytes(b"Echo=>\x01\x02")
        with pytest.raises(ValueError, match="'zz' is not a hex string"):
            lib.send_bytes("zz")


def test_undecodable_reply_fails_and_stays_buffered(lib):
    with serve("echo") as address:
        lib.open_tcp_connection(*address)
        lib.send_bytes("ff fe")
        message = fails(lib.receive_exactly, 8, limit=2)
        assert message == (
            "Received hex 45 63 68 6f 3d 3e ff fe (8 bytes), which is not valid "
            "UTF-8; use as_bytes=True to get the bytes"
        )
        assert lib.receive_exactly(8, as_bytes=True) == b"Echo=>\xff\xfe"


def test_timestamp_reply_should_match_returns_groups(lib):
    with serve("timestamp") as address:
        lib.open_tcp_connection(*address)
        lib.send("hello")
        whole, stamp = lib.reply_should_match(r"(\w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4})hello")
        assert whole == stamp + "hello"
        assert stamp == time.ctime()[:11] + stamp[11:]
        lib.send("x")
        assert lib.reply_should_match(r".{24}x").endswith("x")


def test_reply_should_match_times_out_showing_what_came(lib):
    with serve("echo") as address:
        lib.open_tcp_connection(*address)
        lib.send("abc")
        message = fails(lib.reply_should_match, r"Echo=>\d+", limit=0.3, timeout="300ms")
    assert message == (
        "Expected a reply matching 'Echo=>\\\\d+' but received 'Echo=>abc' (9 bytes) within 300ms"
    )


def test_banner_line_and_echo(lib):
    with serve("banner_echo") as address:
        lib.open_tcp_connection(*address)
        assert lib.receive_line() == BANNER.decode().rstrip("\n")
        lib.send("hi")
        lib.reply_should_be("OK...hi")


def test_welcome_closes_after_reply(lib):
    with serve("welcome_timeout") as address:
        lib.open_tcp_connection(*address)
        lib.send("1")
        lib.reply_should_be("welcome to server!")
        lib.connection_should_be_closed(within="1s")


def test_half_close_ends_sending_and_the_server_closes_after_its_reply(lib):
    with serve("echo") as address:
        lib.open_tcp_connection(*address)
        lib.send("last")
        lib.half_close_connection()
        lib.reply_should_be("Echo=>last")
        lib.connection_should_be_closed(within="1s")
        with pytest.raises(SocketFailure, match="this side has half-closed the connection"):
            lib.send("more")


def test_half_close_needs_tcp(lib):
    with serve("uppercase") as address:
        lib.open_udp_connection(*address)
        with pytest.raises(SocketFailure, match="this keyword needs a TCP connection"):
            lib.half_close_connection()


def test_idle_timeout_seen_as_open_then_closed(lib):
    with serve("welcome_timeout", idle_timeout=0.4) as address:
        lib.open_tcp_connection(*address)
        # open until half the idle timeout, counted from the connect as the server counts
        lib.connection_should_stay_open(max(0.2 - lib.get_connection_age(), 0))
        lib.no_reply_within("50ms")
        lib.connection_should_be_closed(within="1s")
        message = fails(lib.connection_should_stay_open, "1s", limit=0)
    assert message.startswith(
        "Expected the connection to stay open for 1s but received nothing before the peer "
        "closed the connection (after "
    )


def test_aliases_and_switching(lib):
    with serve("echo") as address:
        first = lib.open_tcp_connection(*address)
        second = lib.open_tcp_connection(*address, alias="second")
        assert (first, second) == (1, 2)
        assert lib.switch_connection(first) == 2
        lib.send("one")
        assert lib.switch_connection("second") == 1
        lib.send("two")
        lib.reply_should_be("Echo=>two")
        lib.switch_connection("1")
        lib.reply_should_be("Echo=>one")
        lib.close_connection()
        assert "No open connection." in fails(lib.send, "x", limit=0)
        lib.switch_connection("second")
        lib.close_connection()
        assert fails(lib.switch_connection, "third", limit=0) == (
            "No connection named 'third'; no connection is open."
        )
        lib.close_all_connections()
        assert lib.open_tcp_connection(*address) == 1


def test_set_connection_timeout_returns_the_old_one(lib):
    with serve("echo") as address:
        lib.open_tcp_connection(*address, timeout="3s")
        assert lib.set_connection_timeout("200ms") == "3s"
        assert fails(lib.receive, limit=0.2).endswith("within 200ms")


def test_ipv6(lib):
    with serve_on_ipv6_loopback("echo") as (host, port):
        lib.open_tcp_connection(host, port)
        lib.send("v6")
        lib.reply_should_be("Echo=>v6")


def test_unix_socket(lib, tmp_path):
    with serve("echo", host=f"unix:{tmp_path}/echo.sock") as (host, _port):
        lib.open_tcp_connection(host)
        lib.send("local")
        lib.reply_should_be("Echo=>local")
    message = fails(lib.open_tcp_connection, host, limit=0)
    assert message == f"Could not connect to {host}: no such socket file"


def test_tcp_keywords_refuse_udp_connections(lib):
    with serve("uppercase") as address:
        lib.open_udp_connection(*address)
        message = fails(lib.receive_line, limit=0)
    assert message == "Connection #1 is UDP; this keyword needs a TCP connection."


# --- hostile peers: every waiting keyword fails within its timeout + 0.5 s -------------------

WAITING_KEYWORDS = [
    ("reply_should_be", ("Echo=>hi",)),
    ("reply_should_match", ("Echo=>.+",)),
    ("receive", ()),
    ("receive_until", ("\n",)),
    ("receive_line", ()),
    ("receive_exactly", (5,)),
]


@pytest.mark.parametrize(("keyword", "args"), WAITING_KEYWORDS)
def test_silent_peer(lib, keyword, args):
    with peers.peer(peers.never_answers) as address:
        lib.open_tcp_connection(*address)
        lib.send("hi")
        message = fails(getattr(lib, keyword), *args, timeout="500ms", limit=0.5)
    nothing = "no complete line" if keyword == "receive_line" else "nothing"
    assert message.endswith(f"but received {nothing} within 500ms")


def test_silent_peer_is_still_open(lib):
    with peers.peer(peers.never_answers) as address:
        lib.open_tcp_connection(*address)
        message = fails(lib.connection_should_be_closed, within="300ms", limit=0.3)
        lib.connection_should_stay_open("100ms")
        lib.no_reply_within("100ms")
    assert message == (
        "Expected the peer to close the connection but received nothing within 300ms; "
        "it is still open"
    )


@pytest.mark.parametrize(("keyword", "args"), WAITING_KEYWORDS)
def test_peer_that_closes_at_once(lib, keyword, args):
    with peers.peer(peers.closes_at_once) as address:
        lib.open_tcp_connection(*address)
        message = fails(getattr(lib, keyword), *args, limit=2)
    assert "but received nothing before the peer closed the connection (after " in message


def test_peer_that_closes_at_once_is_closed(lib):
    with peers.peer(peers.closes_at_once) as address:
        lib.open_tcp_connection(*address)
        lib.connection_should_be_closed()
        lib.no_reply_within("0s")
        assert "before the peer closed the connection (after " in fails(
            lib.connection_should_stay_open, "1s", limit=0
        )


@pytest.mark.parametrize(("keyword", "args"), WAITING_KEYWORDS)
def test_peer_that_resets(lib, keyword, args):
    with peers.peer(peers.resets) as address:
        lib.open_tcp_connection(*address)
        lib.send("hi")
        message = fails(getattr(lib, keyword), *args, limit=2)
    assert "before the peer reset the connection" in message


def test_peer_that_closes_mid_reply(lib):
    with peers.peer(peers.sends(b"Echo=", then=peers.closes_at_once)) as address:
        lib.open_tcp_connection(*address)
        message = fails(lib.reply_should_be, "Echo=>hi", limit=2)
    assert message.startswith(
        "Expected 'Echo=>hi' but received 'Echo=' (5 bytes) before the peer closed the connection"
    )


def test_connection_should_be_closed_shows_data_instead(lib):
    with peers.peer(peers.sends(b"still talking\n")) as address:
        lib.open_tcp_connection(*address)
        message = fails(lib.connection_should_be_closed, limit=2)
        assert lib.receive_line() == "still talking", "the data stays buffered"
    assert re.fullmatch(
        "Expected the peer to close the connection but received "
        r"'still talking\\n' \(14 bytes\) " + WHEN,
        message,
    ), message


def test_trickling_peer_is_waited_for(lib):
    with peers.peer(peers.trickles(b"Echo=>hi", interval=0.05)) as address:
        lib.open_tcp_connection(*address)
        lib.reply_should_be("Echo=>hi")


def test_a_partial_reply_times_out_showing_the_part_received(lib):
    with peers.peer(peers.sends(b"Ec")) as address:
        lib.open_tcp_connection(*address)
        fails(lib.no_reply_within, "5s", limit=5)  # returns once the part is here, unread
        message = fails(lib.reply_should_be, "Echo=>hi", timeout="250ms", limit=0.25)
    assert message == "Expected 'Echo=>hi' but received 'Ec' (2 bytes) within 250ms"


def test_split_replies(lib):
    with peers.peer(peers.echoes_in_single_bytes) as address:
        lib.open_tcp_connection(*address)
        lib.send("split")
        lib.reply_should_be("Echo=>split")
        lib.send("again")
        assert lib.receive_until("ag") == "Echo=>ag"
        assert lib.receive_exactly(3) == "ain"


def test_coalesced_replies(lib):
    with peers.peer(peers.sends(b"Echo=>one\nEcho=>two\n")) as address:
        lib.open_tcp_connection(*address)
        lib.reply_should_be("Echo=>one\n")
        lib.reply_should_be("Echo=>two\n")


def test_coalesced_lines(lib):
    with peers.peer(peers.sends(b"a\r\nb\nc")) as address:
        lib.open_tcp_connection(*address)
        assert lib.receive_line() == "a"
        assert lib.receive_line() == "b"
        assert lib.receive() == "c"


def test_flood_is_bounded_by_the_buffer_limit(lib):
    with (
        keyword_library(timeout="5s", buffer_limit=100_000) as small,
        peers.peer(peers.floods) as address,
    ):
        small.open_tcp_connection(*address)
        message = fails(small.receive_until, "never", limit=5)
        connection = small._connections.current
        assert len(connection.pending) == 100_000
    assert re.fullmatch(
        r"Expected 'never' but 100000 unread bytes filled the receive buffer after \d+m?s\. "
        r"They begin with 'x{300}'",
        message,
    ), message


def test_refused_tcp(lib):
    port = unused_port(socket.SOCK_STREAM)
    message = fails(lib.open_tcp_connection, "127.0.0.1", port, limit=0)
    assert message == f"Connection refused by 127.0.0.1:{port}"


@pytest.mark.parametrize(
    ("keyword", "args", "expected"),
    [
        ("reply_should_be", ("ANYONE?",), "Expected 'ANYONE?'"),
        ("no_reply_within", ("1s",), "Expected no reply"),
    ],
)
def test_refused_udp(lib, keyword, args, expected):
    port = unused_port(socket.SOCK_DGRAM)
    lib.open_udp_connection("127.0.0.1", port)
    lib.send("anyone?")
    message = fails(getattr(lib, keyword), *args, limit=2)
    assert message == (
        f"{expected} but: Connection refused by 127.0.0.1:{port}: "
        f"nothing listens on that UDP port (ICMP port unreachable)"
    )


def test_an_empty_datagram_is_a_reply(lib):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as server:
        server.bind(("127.0.0.1", 0))
        lib.open_udp_connection(*server.getsockname())
        lib.send("x")
        server.sendto(b"", server.recvfrom(10)[1])
        message = fails(lib.no_reply_within, "1s", limit=1)
        assert lib.receive() == "", "the empty datagram stays pending"
    assert re.fullmatch("Expected no reply but received an empty datagram " + WHEN, message)


def test_udp_silence(lib):
    with serve("uppercase") as address:
        lib.open_udp_connection(*address)
        lib.no_reply_within("100ms")
        lib.send("x")
        message = fails(lib.no_reply_within, "1s", limit=1)
    assert re.fullmatch(r"Expected no reply but received 'X' \(1 byte\) " + WHEN, message)


def test_unresolvable_host(lib):
    message = fails(lib.open_tcp_connection, "no-such-host.invalid", 80, limit=10)
    assert message.startswith("cannot resolve host 'no-such-host.invalid'")


def unused_port(kind: int) -> int:
    """A port with nothing bound: bind, read it, close. Only for testing refusal."""
    with socket.socket(socket.AF_INET, kind) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_libdoc_documents_every_keyword_with_an_example(tmp_path):
    library = LibraryDocumentation(str(ROOT / "keywords" / "SocketLibrary"))
    assert "%TOC%" in library.doc
    for section in (
        "= Options =",
        "= Connections =",
        "= Timeouts =",
        "= Lines =",
        "= Searching =",
        "= Assertions =",
        "= Encodings =",
        "= Transcript =",
        "= Scope =",
    ):
        assert section in library.doc
    undocumented = [
        kw.name for kw in library.keywords if not kw.short_doc or "\n| " not in "\n" + kw.doc
    ]
    assert undocumented == []
    assert len(library.keywords) >= 29
    # every keyword is in a group, and the groups are the documented ones
    groups = {"Connection", "Send", "Receive", "Check", "Server", "Client", "TLS"}
    assert [kw.name for kw in library.keywords if not set(kw.tags) & groups] == []
    assert set().union(*(kw.tags for kw in library.keywords)) <= groups
    # every option a keyword takes is shown in one of its examples
    for kw in library.keywords:
        options = [arg.name for arg in kw.args if arg.kind == "NAMED_ONLY"]
        shown = [name for name in options if f"| {name}=" in kw.doc]
        assert not options or shown, f"{kw.name}: no example of {options}"
    assert "| ``not contains`` |" in library.doc, "the operators are listed"
    library.save(str(tmp_path / "SocketLibrary.html"))
    assert (tmp_path / "SocketLibrary.html").stat().st_size > 50_000
