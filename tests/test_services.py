"""Each reference server over real loopback sockets: clients, concurrency, robustness."""

from __future__ import annotations

import contextlib
import logging
import re
import socket
import threading
import time

import pytest

from services import Server, serve
from services.protocols import ACK_TEXT, BANNER, GO_OUT, WELCOME, uppercase
from tests.helpers import (
    assert_reply,
    prefix_pattern,
    recv_exactly,
    recv_until_closed,
    reply_length,
    reset,
    serve_on_ipv6_loopback,
    tcp_connect,
    wait_until,
)

STREAM = ["echo", "banner_echo", "timestamp"]
DATAGRAM = ["uppercase", "ack"]
TCP = [*STREAM, "welcome_timeout"]


def open_client(name: str, address: tuple[str, int]) -> socket.socket:
    sock = tcp_connect(address)
    if name == "banner_echo":
        assert recv_exactly(sock, len(BANNER)) == BANNER
    return sock


def ask(sock: socket.socket, name: str, message: bytes) -> None:
    sock.sendall(message)
    assert_reply(name, recv_exactly(sock, reply_length(name, message)), message)


def datagram_reply(name: str, data: bytes) -> bytes:
    return uppercase(data) if name == "uppercase" else ACK_TEXT.encode("gbk")


def udp_client(timeout: float = 5.0) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.settimeout(timeout)
    return sock


def udp_ask(sock: socket.socket, name: str, address: tuple[str, int], data: bytes) -> None:
    sock.sendto(data, address)
    reply, sender = sock.recvfrom(65535)
    assert sender == address
    assert reply == datagram_reply(name, data)


def welcome_ask(address: tuple[str, int], message: bytes, expected: bytes) -> None:
    with tcp_connect(address) as sock:
        sock.sendall(message)
        assert recv_until_closed(sock) == expected


def assert_still_serves(name: str, address: tuple[str, int]) -> None:
    if name in DATAGRAM:
        with udp_client() as sock:
            udp_ask(sock, name, address, b"still there?")
    elif name == "welcome_timeout":
        welcome_ask(address, b"1", WELCOME)
    else:
        with open_client(name, address) as sock:
            ask(sock, name, b"still there?")


# --- stream behaviours -------------------------------------------------------------------


@pytest.mark.parametrize("name", STREAM)
def test_single_client(name):
    with serve(name) as address, open_client(name, address) as sock:
        ask(sock, name, b"hello")


@pytest.mark.parametrize("name", STREAM)
def test_several_messages_on_one_connection(name):
    with serve(name) as address, open_client(name, address) as sock:
        for message in (b"first", b"second", "dritte Nachricht ß".encode(), b"4"):
            ask(sock, name, message)


@pytest.mark.parametrize("name", STREAM)
def test_successive_clients(name):
    with serve(name) as address:
        for number in range(10):
            with open_client(name, address) as sock:
                ask(sock, name, f"client {number}".encode())


@pytest.mark.parametrize("name", STREAM)
def test_concurrent_clients_each_get_their_own_replies(name):
    with serve(name) as address:
        clients = [open_client(name, address) for _ in range(50)]
        try:
            for number, sock in enumerate(clients):
                sock.sendall(f"from client {number}".encode())
            for number, sock in enumerate(clients):
                message = f"from client {number}".encode()
                assert_reply(name, recv_exactly(sock, reply_length(name, message)), message)
        finally:
            for sock in clients:
                sock.close()


def test_timestamp_bracket_format():
    with serve("timestamp", format="bracket") as address, tcp_connect(address) as sock:
        sock.sendall(b"data")
        reply = recv_exactly(sock, 24 + 3 + 4)
        assert re.fullmatch(rb"\[" + prefix_pattern("timestamp") + rb"\] data", reply)


def test_stop_lets_an_open_conversation_finish_within_the_grace(caplog):
    caplog.set_level(logging.INFO, logger="services")
    server = Server("echo", port=0, stop_grace=60).start()
    address = (server.host, server.port)
    sock = open_client("echo", address)
    ask(sock, "echo", b"before")
    stopping = threading.Thread(target=server.stop)
    stopping.start()
    wait_until(lambda: "stopping: 1 open connection(s)" in caplog.text, what="the stop to begin")
    with pytest.raises(ConnectionRefusedError):
        tcp_connect(address)
    ask(sock, "echo", b"during the stop")
    assert stopping.is_alive(), "the stop waits for the open conversation"
    sock.close()
    stopping.join(timeout=10)
    assert not stopping.is_alive(), "the stop ends when the conversation does"
    assert caplog.records[-1].getMessage().endswith(": 2 chunk(s), client closed")


def test_stop_cuts_conversations_still_open_after_the_grace(caplog):
    caplog.set_level(logging.INFO, logger="services")
    with serve("echo", stop_grace=0.2) as address:
        baseline = threading.active_count()
        sock = open_client("echo", address)
        ask(sock, "echo", b"hi")
        assert threading.active_count() == baseline + 1
    assert caplog.records[-1].getMessage().endswith(": 1 chunk(s), cut short by the server's stop")
    assert recv_until_closed(sock) == b""
    sock.close()
    wait_until(lambda: threading.active_count() == baseline - 1, what="handler thread to end")


@pytest.mark.parametrize("name", TCP)
def test_handler_threads_end_when_clients_leave(name):
    with serve(name) as address:
        baseline = threading.active_count()
        for _ in range(3):
            clients = [open_client(name, address) for _ in range(20)]
            for sock in clients:
                if name == "welcome_timeout":
                    sock.sendall(b"1")
                    assert recv_until_closed(sock) == WELCOME
                else:
                    ask(sock, name, b"x")
                sock.close()
        wait_until(lambda: threading.active_count() == baseline, what="handler threads to end")


# --- welcome_timeout -----------------------------------------------------------------------


def test_welcome_for_exactly_one_then_close():
    with serve("welcome_timeout") as address:
        welcome_ask(address, b"1", WELCOME)


@pytest.mark.parametrize("message", [b"2", b"11", b"1\n", b" 1", b"hello", b"\xff"])
def test_anything_else_is_sent_away_then_closed(message):
    with serve("welcome_timeout") as address:
        welcome_ask(address, message, GO_OUT)


def test_idle_client_gets_no_reply_and_is_closed_after_the_timeout():
    with serve("welcome_timeout", idle_timeout=0.3) as address, tcp_connect(address) as sock:
        opened = time.monotonic()
        assert recv_until_closed(sock) == b""
        assert time.monotonic() - opened >= 0.25, "closed before the idle timeout"


def test_an_idle_client_never_delays_another():
    with (
        serve("welcome_timeout", idle_timeout=30) as address,
        tcp_connect(address),
        tcp_connect(address, timeout=2) as other,
    ):
        other.sendall(b"1")
        assert recv_until_closed(other, timeout=2) == WELCOME


def test_concurrent_welcome_clients():
    with serve("welcome_timeout") as address:
        clients = [tcp_connect(address) for _ in range(50)]
        for number, sock in enumerate(clients):
            sock.sendall(b"1" if number % 2 else b"2")
        for number, sock in enumerate(clients):
            assert recv_until_closed(sock) == (WELCOME if number % 2 else GO_OUT)
            sock.close()


def test_successive_welcome_clients_after_an_idle_timeout():
    with serve("welcome_timeout", idle_timeout=0.2) as address:
        with tcp_connect(address) as idle:
            assert recv_until_closed(idle) == b""
        for _ in range(5):
            welcome_ask(address, b"1", WELCOME)


# --- datagram behaviours -------------------------------------------------------------------


@pytest.mark.parametrize("name", DATAGRAM)
def test_datagrams_in_a_row_and_successive_clients(name):
    with serve(name) as address:
        for client in range(3):
            with udp_client() as sock:
                for number in range(5):
                    udp_ask(sock, name, address, f"client {client} sentence {number}".encode())


@pytest.mark.parametrize("name", DATAGRAM)
def test_each_reply_goes_to_its_own_sender(name):
    with serve(name) as address:
        clients = [udp_client() for _ in range(50)]
        try:
            for number, sock in enumerate(clients):
                sock.sendto(f"sentence {number}".encode(), address)
            for number, sock in enumerate(clients):
                reply, sender = sock.recvfrom(65535)
                assert sender == address
                assert reply == datagram_reply(name, f"sentence {number}".encode())
        finally:
            for sock in clients:
                sock.close()


def test_uppercase_in_another_encoding():
    with serve("uppercase", encoding="gbk") as address, udp_client() as sock:
        sock.sendto("中文 abc".encode("gbk"), address)
        assert sock.recvfrom(65535)[0] == "中文 ABC".encode("gbk")


def test_ack_in_another_encoding():
    with serve("ack", encoding="utf-8") as address, udp_client() as sock:
        sock.sendto(b"hi", address)
        assert sock.recvfrom(65535)[0] == ACK_TEXT.encode()


def test_ipv6_loopback():
    with serve_on_ipv6_loopback("echo") as address, tcp_connect(address) as sock:
        ask(sock, "echo", b"six")


def test_unix_socket(tmp_path):
    path = tmp_path / "echo.sock"
    with serve("echo", host=f"unix:{path}") as (host, _port):
        assert host == f"unix:{path}"
        with socket.socket(socket.AF_UNIX) as sock:
            sock.settimeout(5)
            sock.connect(str(path))
            ask(sock, "echo", b"local")
    assert not path.exists(), "the socket file is removed on stop"


# --- robustness: bad input never kills a server ------------------------------------------

BAD_PAYLOADS = {
    "invalid-utf8": b"\xff\xfe\xc3(",
    "invalid-gbk": b"\x81\x20\xfe",
    "nul-bytes": b"\x00\x00nul\x00",
}


@pytest.mark.parametrize("payload", BAD_PAYLOADS.values(), ids=BAD_PAYLOADS.keys())
@pytest.mark.parametrize("name", TCP)
def test_bad_bytes_on_tcp(name, payload):
    with serve(name) as address:
        if name == "welcome_timeout":
            welcome_ask(address, payload, GO_OUT)
        else:
            with open_client(name, address) as sock:
                ask(sock, name, payload)
        assert_still_serves(name, address)


@pytest.mark.parametrize("payload", BAD_PAYLOADS.values(), ids=BAD_PAYLOADS.keys())
@pytest.mark.parametrize("name", DATAGRAM)
def test_bad_bytes_in_a_datagram(name, payload):
    with serve(name) as address, udp_client() as sock:
        udp_ask(sock, name, address, payload)
        assert_still_serves(name, address)


@pytest.mark.parametrize("name", STREAM)
def test_200kb_burst_is_answered_completely(name):
    payload = b"x" * 200_000
    with serve(name) as address, open_client(name, address) as sock:
        sender = threading.Thread(target=lambda: (sock.sendall(payload), sock.shutdown(1)))
        sender.start()
        reply = recv_until_closed(sock, timeout=10)
        sender.join()
        assert re.sub(prefix_pattern(name), b"", reply) == payload
        assert_still_serves(name, address)


def test_200kb_burst_to_welcome_is_sent_away():
    with serve("welcome_timeout") as address, tcp_connect(address) as sock:
        sender = threading.Thread(target=lambda: _send_ignoring_reset(sock, b"y" * 200_000))
        sender.start()
        reply = _recv_until_closed_or_reset(sock)
        sender.join()
        assert reply == GO_OUT
        assert_still_serves("welcome_timeout", address)


def _send_ignoring_reset(sock: socket.socket, data: bytes) -> None:
    with contextlib.suppress(OSError):  # the server hangs up after its reply, as it should
        sock.sendall(data)


def _recv_until_closed_or_reset(sock: socket.socket) -> bytes:
    data = bytearray()
    sock.settimeout(5)
    try:
        while chunk := sock.recv(65536):
            data += chunk
    except ConnectionResetError:
        pass
    return bytes(data)


@pytest.mark.parametrize("name", TCP)
def test_client_reset_mid_conversation(name):
    with serve(name) as address:
        sock = open_client(name, address)
        if name != "welcome_timeout":
            ask(sock, name, b"before the reset")
        sock.sendall(b"reset follows")
        reset(sock)
        assert_still_serves(name, address)


@pytest.mark.parametrize("name", TCP)
def test_half_closed_client_still_gets_its_reply(name):
    with serve(name) as address, open_client(name, address) as sock:
        message = b"1" if name == "welcome_timeout" else b"then I stop sending"
        sock.sendall(message)
        sock.shutdown(socket.SHUT_WR)
        reply = recv_until_closed(sock)
        if name == "welcome_timeout":
            assert reply == WELCOME
        else:
            assert_reply(name, reply, message)
        assert_still_serves(name, address)


@pytest.mark.parametrize("name", STREAM)
def test_slow_client_one_byte_at_a_time(name):
    with serve(name) as address, open_client(name, address) as sock:
        for byte in b"slowly":
            ask(sock, name, bytes([byte]))
        assert_still_serves(name, address)


@pytest.mark.parametrize("name", TCP)
def test_300_idle_connections(name):
    with serve(name) as address:
        idle = [tcp_connect(address) for _ in range(300)]
        try:
            assert_still_serves(name, address)
        finally:
            for sock in idle:
                sock.close()


@pytest.mark.parametrize("name", DATAGRAM)
def test_largest_datagram(name):
    data = ("a" + "ß" * 32753).encode()  # 65,507 bytes: the largest UDP payload over IPv4
    assert len(data) == 65507
    with serve(name) as address, udp_client() as sock:
        udp_ask(sock, name, address, data)
        assert_still_serves(name, address)


def test_uppercase_reply_too_large_for_a_datagram_is_dropped_not_fatal():
    grows = "ŉ".encode() * 30000  # 'ŉ'.upper() is 'ʼN': 60,000 bytes become 90,000
    with serve("uppercase") as address, udp_client() as sock:
        sock.sendto(grows, address)
        udp_ask(sock, "uppercase", address, b"next")  # the first reply to arrive


@pytest.mark.parametrize("name", DATAGRAM)
def test_empty_datagram(name):
    with serve(name) as address, udp_client() as sock:
        udp_ask(sock, name, address, b"")
        assert_still_serves(name, address)


@pytest.mark.parametrize("name", DATAGRAM)
def test_burst_of_5000_datagrams(name):
    with serve(name) as address, udp_client(timeout=0.5) as sock:
        for number in range(5000):
            sock.sendto(b"burst %d" % number, address)
        replies = 0
        try:
            while sock.recvfrom(65535):
                replies += 1
        except TimeoutError:
            pass  # UDP may drop under a burst; what matters is that the server lives on
        assert replies > 0
        assert_still_serves(name, address)
