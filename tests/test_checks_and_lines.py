"""Exchange, searching, "reply contains", newlines, assertion operators, named options and
lookup messages: SocketLibrary called directly against real servers and peers."""

from __future__ import annotations

import re

import pytest
from robot.api import logger

from services import serve
from SocketLibrary import SocketFailure
from SocketLibrary.library import OptionError
from tests import peers
from tests.helpers import keyword_library
from tests.test_library import WHEN, fails

# --- Exchange: Send + Reply Should Be in one call -------------------------------------------


def test_exchange_sends_and_checks_the_reply(lib):
    with serve("echo") as address:
        lib.open_tcp_connection(*address)
        lib.exchange("hello", "Echo=>hello")
        lib.exchange("straße\n", "Echo=>straße\n")


def test_exchange_fails_at_the_first_wrong_byte_and_keeps_the_rest(lib):
    with serve("echo") as address:
        lib.open_tcp_connection(*address, timeout="10s")
        message = fails(lib.exchange, "hellO world", "Echo=>hello", limit=5)  # not the 10s
        assert re.fullmatch(
            r"Expected 'Echo=>hello' but received 'Echo=>hellO(?: world)?' \(\d+ bytes\) " + WHEN,
            message,
        ), message
        # nothing was consumed: the whole reply is still there for the next check
        lib.reply_should_be("Echo=>hellO world")


def test_exchange_leaves_bytes_beyond_the_reply_buffered(lib):
    with peers.peer(peers.sends(b"OK\r\nEND\r\n")) as address:
        lib.open_tcp_connection(*address)
        lib.exchange("SET k 1\r\n", "OK\r\n")
        assert lib.receive_line() == "END"


def test_exchange_on_udp_is_one_datagram_each_way(lib):
    with serve("uppercase") as address:
        lib.open_udp_connection(*address)
        lib.exchange("straße", "STRASSE")
        message = fails(lib.exchange, "abc", "abc", limit=2)
    assert re.fullmatch(r"Expected 'abc' but received 'ABC' \(3 bytes\) " + WHEN, message)


# --- Reply Should Contain and Receive Until Regexp: searching the stream --------------------


def test_reply_should_contain_consumes_up_to_and_including_the_text(lib):
    with peers.peer(peers.sends(b"220 ready\r\n", b"250 OK\r\nnext")) as address:
        lib.open_tcp_connection(*address)
        lib.reply_should_contain("OK")
        assert lib.receive_exactly(6) == "\r\nnext"


def test_reply_should_contain_times_out_showing_what_came(lib):
    with peers.peer(peers.sends(b"ERROR no such key\r\n")) as address:
        lib.open_tcp_connection(*address)
        message = fails(lib.reply_should_contain, "VALUE", timeout="300ms", limit=0.3)
        assert lib.receive_line() == "ERROR no such key", "what arrived stays buffered"
    assert message == (
        "Expected a reply containing 'VALUE' but received 'ERROR no such key\\r\\n' "
        "(19 bytes) within 300ms"
    )


def test_reply_should_contain_on_udp_checks_the_next_datagram(lib):
    with serve("uppercase") as address:
        lib.open_udp_connection(*address)
        lib.send("a quick fox")
        lib.reply_should_contain("QUICK")
        lib.send("slow")
        message = fails(lib.reply_should_contain, "QUICK", limit=2)
    assert re.fullmatch(
        r"Expected a reply containing 'QUICK' but received 'SLOW' \(4 bytes\) " + WHEN, message
    )


def test_receive_until_regexp_searches_and_consumes_through_the_match(lib):
    with peers.peer(
        peers.sends(b"noise\r\nVAL", b"UE 42\r\n", b"VALUE 7\r\n", interval=0.05)
    ) as address:
        lib.open_tcp_connection(*address)
        assert lib.receive_until_regexp(r"VALUE \d+\r\n") == "noise\r\nVALUE 42\r\n"
        assert lib.receive_until_regexp(r"VALUE (\d+)\r\n") == "VALUE 7\r\n"


def test_receive_until_regexp_fails_before_the_peer_closes(lib):
    with peers.peer(peers.sends(b"NOT FOUND\r\n", then=peers.closes_at_once)) as address:
        lib.open_tcp_connection(*address)
        message = fails(lib.receive_until_regexp, r"VALUE \d+", limit=2)
    assert message.startswith(
        "Expected a reply containing a match for 'VALUE \\\\d+' but received "
        "'NOT FOUND\\r\\n' (11 bytes) before the peer closed the connection (after "
    )


# --- newlines: at import, per connection, per call ------------------------------------------


def test_send_line_and_receive_line_use_the_connection_newline():
    with keyword_library(timeout="2s", newline="CRLF") as lib, serve("echo") as address:
        lib.open_tcp_connection(*address)
        lib.send_line("hello")
        assert lib.receive_exactly(13) == "Echo=>hello\r\n"
        lib.open_tcp_connection(*address, newline="LF")  # the connection's own setting
        lib.send_line("hi")
        assert lib.receive_exactly(9) == "Echo=>hi\n"
        lib.send_line("x", newline="\r\n")  # one call's setting
        assert lib.receive_line(newline="CRLF") == "Echo=>x"


def test_a_crlf_line_keeps_a_lone_newline_inside_it():
    with (
        keyword_library(timeout="2s") as lib,
        peers.peer(peers.sends(b"a\nb\r\nc\r\n")) as address,
    ):
        lib.open_tcp_connection(*address, newline="crlf")
        assert lib.receive_line() == "a\nb"
        assert lib.receive_line(newline="LF") == "c", "LF lines drop a \\r before the \\n"


def test_receive_line_timeout_says_no_complete_line(lib):
    with peers.peer(peers.sends(b"VALUE 1\n")) as address:
        lib.open_tcp_connection(*address, newline="CRLF")
        message = fails(lib.receive_line, timeout="300ms", limit=0.3)
    assert message == (
        "Expected a line ending in '\\r\\n' but received 'VALUE 1\\n' (8 bytes), "
        "no complete line, within 300ms"
    )


def test_a_newline_must_be_lf_crlf_or_cr(lib):
    with pytest.raises(ValueError, match="newline must be LF, CRLF or CR, not 'NL'"):
        keyword_library(newline="NL").__enter__()
    with serve("echo") as address, pytest.raises(ValueError, match="not ';'"):
        lib.open_tcp_connection(*address, newline=";")


# --- assertion operators on the getters -----------------------------------------------------


def test_getters_take_assertion_operators(lib):
    with peers.peer(peers.sends(b"VALUE v\r\nOK 42 items\nxyz\xff\x00")) as address:
        lib.open_tcp_connection(*address)
        assert lib.receive_line("==", "VALUE v") == "VALUE v"
        assert lib.receive_until("items", "matches", r"OK (\d+)") == ("42",)
        assert lib.receive_exactly(1, "contains", "\n") == "\n"
        assert lib.receive_until("z", "^=", "xy") == "xyz"
        assert lib.receive_exactly(2, "==", "ff 00", as_bytes=True) == b"\xff\x00"


def test_a_failed_assertion_shows_whitespace(lib):
    with peers.peer(peers.sends(b"VALUE x \r\n")) as address:
        lib.open_tcp_connection(*address)
        message = fails(lib.receive_line, "==", "VALUE x", newline="\n", limit=0)
    assert message == "Received line 'VALUE x ' should be 'VALUE x'"


def test_a_failed_assertion_on_bytes_shows_hex(lib):
    with peers.peer(peers.sends(b"\xff\x00\x41")) as address:
        lib.open_tcp_connection(*address)
        message = fails(lib.receive_exactly, 3, "!=", "ff 00 41", as_bytes=True, limit=0)
    assert message == "Received hex ff 00 41 (3 bytes) should not be hex ff 00 41 (3 bytes)"


def test_an_expected_value_without_an_operator_is_an_error(lib):
    with peers.peer(peers.sends(b"x\n")) as address:
        lib.open_tcp_connection(*address)
        with pytest.raises(ValueError, match="'x' needs an assertion operator before it"):
            lib.receive_line(None, "x")


@pytest.mark.slow
def test_get_server_output_takes_assertion_operators(lib):
    lib.start_server("python3 -m services echo --port 0", 0, alias="echo")
    assert "LISTENING" in lib.get_server_output("contains", "LISTENING tcp")
    message = fails(lib.get_server_output, "contains", "{Traceback}", alias="echo", limit=0)
    assert message.startswith("Server output 'LISTENING tcp 127.0.0.1:")
    assert message.endswith(" should contain '{Traceback}'")


# --- binary values are logged as hex --------------------------------------------------------


def test_bytes_returned_are_logged_as_hex(lib, monkeypatch):
    logged = []
    monkeypatch.setattr(logger, "info", lambda message, *args, **kwargs: logged.append(message))
    with peers.peer(peers.sends(b"\x00\x01 \xff")) as address:
        lib.open_tcp_connection(*address)
        lib.receive_exactly(4, as_bytes=True)
    assert "4 bytes: hex 00 01 20 ff" in logged


# --- named options: a typo never passes silently --------------------------------------------


@pytest.mark.parametrize(
    ("keyword", "args"),
    [
        ("open_tcp_connection", ("127.0.0.1", 9)),
        ("open_udp_connection", ("127.0.0.1", 9)),
        ("stop_all_servers", ()),
        ("connection_should_be_closed", ()),
    ],
)
def test_an_unknown_named_option_fails(lib, keyword, args):
    with pytest.raises(OptionError) as error:
        getattr(lib, keyword)(*args, timout="2s")
    assert "got unknown option 'timout'" in str(error.value)


def test_an_unknown_option_names_the_keyword_and_the_closest_option(lib):
    with pytest.raises(OptionError) as error:
        lib.open_tcp_connection("127.0.0.1", 9, timout="2s")
    assert str(error.value) == (
        "Open TCP Connection got unknown option 'timout' (did you mean 'timeout'?). Its "
        "options are named: alias=…, timeout=…, encoding=…, newline=…, connect_timeout=…, "
        "tls=…, ca_file=…, verify=…, server_hostname=…, client_cert=…, client_key=…"
    )


@pytest.mark.parametrize(
    ("keyword", "args"),
    [
        ("reply_should_be", ("Echo=>hi",)),
        ("reply_should_contain", ("hi",)),
        ("reply_should_match", ("hi",)),
        ("receive_until_regexp", ("hi",)),
        ("exchange", ("hi", "Echo=>hi")),
        ("send_line", ("hi",)),
        ("receive_line", ("==", "hi")),
    ],
)
def test_a_typo_passed_on_as_a_value_fails(lib, keyword, args):
    """Robot hands a name=value that matches no option over as one more value."""
    with pytest.raises(OptionError) as error:
        getattr(lib, keyword)(*args, "timout=2s")
    assert "got unknown option 'timout'" in str(error.value)


def test_an_extra_value_is_named_as_such(lib):
    with pytest.raises(OptionError) as error:
        lib.reply_should_be("a", "b")
    assert str(error.value) == (
        "Reply Should Be got an extra argument 'b'. Its options are named: timeout=…"
    )


def test_an_unknown_import_option_fails():
    with pytest.raises(OptionError, match="Importing SocketLibrary got unknown option 'encodng'"):
        keyword_library(encodng="GBK").__enter__()


# --- lookups name what they looked for ------------------------------------------------------


@pytest.mark.slow
def test_a_missing_connection_or_server_is_named(lib):
    with serve("echo") as address:
        lib.open_tcp_connection(*address)
        lib.open_tcp_connection(*address, alias="second")
        assert fails(lib.switch_connection, "nosuch", limit=0) == (
            "No connection named 'nosuch'; the open connections are #1, second."
        )
    assert fails(lib.stop_server, "nosuch", limit=0) == (
        "No server named 'nosuch'; no server is started."
    )
    lib.start_server("python3 -m services echo --port 0", 0, alias="echo")
    assert fails(lib.get_server_output, alias="nosuch", limit=0) == (
        "No server named 'nosuch'; the started servers are #1 (echo)."
    )


def test_a_closed_connection_is_not_current(lib):
    with serve("echo") as address:
        lib.open_tcp_connection(*address)
        lib.close_connection()
        with pytest.raises(SocketFailure, match=r"^No open connection\.$"):
            lib.send("x")
