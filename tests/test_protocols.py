"""The sans-IO protocol cores, as tables: no sockets, no clock, no sleeps."""

import time

import pytest

from services import BEHAVIOURS
from services.protocols import (
    ACK_TEXT,
    BANNER,
    GO_OUT,
    WELCOME,
    ack,
    banner_echo_reply,
    echo_reply,
    timestamp_reply,
    uppercase,
    welcome_reply,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("hello world", "HELLO WORLD"),
        ("straße", "STRASSE"),
        ("héllo wörld", "HÉLLO WÖRLD"),
        ("MiXeD 123 !?.,;", "MIXED 123 !?.,;"),
        ("0123456789 +-*/", "0123456789 +-*/"),
        ("", ""),
        ("ﬁne", "FINE"),
        ("日本語 abc", "日本語 ABC"),
        ("tab\tnew\nline", "TAB\tNEW\nLINE"),
    ],
)
def test_uppercase_text(text, expected):
    assert uppercase(text.encode()) == expected.encode()


@pytest.mark.parametrize(
    ("data", "encoding", "expected"),
    [
        (b"ab\xffc", "utf-8", b"AB\xffC"),  # undecodable byte passes through untouched
        (b"\x00nul\x00", "utf-8", b"\x00NUL\x00"),
        (b"\xc3", "utf-8", b"\xc3"),  # truncated multibyte sequence
        ("привет".encode("gbk"), "gbk", "ПРИВЕТ".encode("gbk")),
        ("ÿes".encode("latin-1"), "latin-1", "ÿES".encode("latin-1")),  # Ÿ is not Latin-1
        ("中文abc".encode("gbk"), "gbk", "中文ABC".encode("gbk")),
        # UTF-16 cannot carry stray bytes: such a datagram comes back as it came
        (b"a\x00b\x00\x00\xd8", "utf-16-le", b"a\x00b\x00\x00\xd8"),
        (b"\x00", "utf-16", b"\x00"),
        (b"\x00\x01\x80", "ascii", b"\x00\x01\x80"),
    ],
)
def test_uppercase_bytes_and_encodings(data, encoding, expected):
    assert uppercase(data, encoding) == expected


@pytest.mark.parametrize("data", [b"", b"hello", b"\xff\xfe", "中文".encode("gbk")])
def test_ack_is_fixed_gbk_text(data):
    assert (
        ack(data)
        == ACK_TEXT.encode("gbk")
        == b"\xb7\xfe\xce\xf1\xb6\xcb\xca\xd5\xb5\xbd\xd0\xc5\xcf\xa2\xc0\xb2!"
    )


def test_ack_in_another_encoding():
    assert ack(b"x", "utf-8") == ACK_TEXT.encode("utf-8")


FIXED_CLOCK = time.mktime((2018, 12, 16, 17, 4, 10, 0, 0, -1))


@pytest.mark.parametrize(
    ("chunk", "style", "expected"),
    [
        (b"client message", "ctime", b"Sun Dec 16 17:04:10 2018client message"),
        (b"client message", "bracket", b"[Sun Dec 16 17:04:10 2018] client message"),
        (b"", "ctime", b"Sun Dec 16 17:04:10 2018"),
        (b"\xff\x00", "ctime", b"Sun Dec 16 17:04:10 2018\xff\x00"),
    ],
)
def test_timestamp_reply(chunk, style, expected):
    assert timestamp_reply(chunk, FIXED_CLOCK, style) == expected


def test_timestamp_pads_single_digit_days_like_ctime():
    first_of_month = time.mktime((2024, 3, 1, 9, 5, 7, 0, 0, -1))
    assert timestamp_reply(b"x", first_of_month) == b"Fri Mar  1 09:05:07 2024x"


def test_timestamp_rejects_unknown_style():
    with pytest.raises(ValueError, match="unknown timestamp style 'iso'"):
        timestamp_reply(b"x", FIXED_CLOCK, "iso")


@pytest.mark.parametrize(
    ("first_chunk", "expected"),
    [
        (b"1", WELCOME),
        (b"2", GO_OUT),
        (b"11", GO_OUT),
        (b"1\n", GO_OUT),
        (b" 1", GO_OUT),
        (b"", GO_OUT),
        (b"\xff", GO_OUT),
    ],
)
def test_welcome_reply(first_chunk, expected):
    assert welcome_reply(first_chunk) == expected


@pytest.mark.parametrize("chunk", [b"hi", b"", "héllo".encode(), b"\xff\xfe\x00", b"line\n"])
def test_prefix_replies_keep_the_chunk_byte_for_byte(chunk):
    assert echo_reply(chunk) == b"Echo=>" + chunk
    assert banner_echo_reply(chunk) == b"OK..." + chunk


def test_banner_text():
    assert BANNER == b"Welcome to the server. Type something and hit enter\n"


@pytest.mark.parametrize(
    ("name", "options", "message"),
    [
        ("echo", {"encoding": "utf-8"}, "takes no option encoding; it takes: none"),
        ("uppercase", {"encoding": "klingon"}, "unknown encoding 'klingon'"),
        ("timestamp", {"format": "iso"}, "unknown format 'iso'"),
        ("welcome_timeout", {"idle_timeout": 0}, "must be a positive number"),
    ],
)
def test_behaviour_options_are_validated(name, options, message):
    with pytest.raises(ValueError, match=message):
        BEHAVIOURS[name].protocol(**options)


def test_registry_has_the_six_behaviours_on_their_seed_ports():
    assert {name: (b.transport, b.default_port) for name, b in BEHAVIOURS.items()} == {
        "uppercase": ("udp", 12000),
        "ack": ("udp", 8080),
        "timestamp": ("tcp", 11000),
        "welcome_timeout": ("tcp", 8001),
        "echo": ("tcp", 50007),
        "banner_echo": ("tcp", 8888),
    }
