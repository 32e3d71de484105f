"""The library as the server: listening, accepting, and answering datagrams, with real
sockets on the loopback. The client under test is a plain socket here."""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import time

import pytest

from SocketLibrary import SocketFailure
from tests.helpers import recv_exactly, recv_until_closed


def fails(call, *args, limit: float, **kwargs) -> str:
    """Call a keyword that must fail no later than ``limit`` + 0.5 s; return its message."""
    started = time.monotonic()
    with pytest.raises(SocketFailure) as failure:
        call(*args, **kwargs)
    waited = time.monotonic() - started
    assert waited <= limit + 0.5, f"failed only after {waited:.2f}s: {failure.value}"
    return str(failure.value)


def test_an_accepted_connection_is_an_ordinary_connection(lib):
    port = lib.listen_on_tcp_port()
    assert port > 0
    with socket.create_connection(("127.0.0.1", port), timeout=5) as client:
        assert lib.accept_connection(alias="client") == 1
        client.sendall(b"hello")
        lib.reply_should_be("hello")
        lib.send("Echo=>hello")
        assert recv_exactly(client, 11) == b"Echo=>hello"
        assert lib.get_peer_address() == f"127.0.0.1:{client.getsockname()[1]}"
        client.sendall(b"line one\nline two\n")
        assert lib.receive_line() == "line one"
        assert lib.receive_line() == "line two"
    lib.connection_should_be_closed(within="2s")


def test_a_reply_in_segments_is_gathered_as_from_a_server(lib):
    port = lib.listen_on_tcp_port()
    with socket.create_connection(("127.0.0.1", port), timeout=5) as client:
        client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        lib.accept_connection()
        for piece in (b"GET / ", b"HTTP/1.1\r\n", b"\r\n"):
            client.sendall(piece)
        lib.reply_should_be("GET / HTTP/1.1\r\n\r\n")


def test_nobody_connecting_fails_with_the_address_and_the_wait(lib):
    port = lib.listen_on_tcp_port()
    message = fails(lib.accept_connection, timeout="300ms", limit=0.3)
    assert message == f"no client connected to tcp 127.0.0.1:{port} within 0.3s"


def test_several_clients_are_accepted_in_turn_with_aliases(lib):
    port = lib.listen_on_tcp_port()
    first = socket.create_connection(("127.0.0.1", port), timeout=5)
    second = socket.create_connection(("127.0.0.1", port), timeout=5)
    with first, second:
        lib.accept_connection(alias="first")
        lib.accept_connection(alias="second")
        first.sendall(b"from first")
        second.sendall(b"from second")
        lib.reply_should_be("from second")
        lib.switch_connection("first")
        lib.reply_should_be("from first")


def test_two_listeners_are_chosen_by_alias(lib):
    web = lib.listen_on_tcp_port(alias="web")
    lib.listen_on_tcp_port(alias="mail")
    with socket.create_connection(("127.0.0.1", web), timeout=5) as client:
        fails(lib.accept_connection, timeout="100ms", limit=0.1)  # the newest: mail
        lib.accept_connection(listener="web")
        client.sendall(b"x")
        lib.reply_should_be("x")


def test_ipv6_and_unix_listeners(lib, tmp_path):
    try:
        port = lib.listen_on_tcp_port(host="::1")
    except SocketFailure as error:
        pytest.skip(f"no IPv6 loopback here: {error}")
    with socket.create_connection(("::1", port), timeout=5) as client:
        lib.accept_connection()
        client.sendall(b"six")
        lib.reply_should_be("six")
    path = tmp_path / "server.sock"
    assert lib.listen_on_tcp_port(host=f"unix:{path}") == 0
    with socket.socket(socket.AF_UNIX) as client:
        client.connect(str(path))
        lib.accept_connection()
        lib.send("over unix")
        assert recv_exactly(client, 9) == b"over unix"
    lib.close_all_connections()
    assert not path.exists(), "the listener's socket file is removed when it closes"


def test_a_taken_port_is_a_clear_failure(lib):
    port = lib.listen_on_tcp_port()
    message = fails(lib.listen_on_tcp_port, port, limit=0)
    assert message == f"cannot listen on tcp 127.0.0.1 port {port}: it is already in use"


def test_close_all_connections_closes_listeners_too(lib):
    port = lib.listen_on_tcp_port()
    lib.close_all_connections()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=5)


def test_stop_listening_keeps_accepted_connections(lib):
    port = lib.listen_on_tcp_port()
    with socket.create_connection(("127.0.0.1", port), timeout=5) as client:
        lib.accept_connection()
        lib.stop_listening()
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", port), timeout=5)
        lib.send("still here")
        assert recv_exactly(client, 10) == b"still here"


def test_a_client_that_resets_is_seen_as_a_reset(lib):
    port = lib.listen_on_tcp_port()
    client = socket.create_connection(("127.0.0.1", port), timeout=5)
    lib.accept_connection()
    client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    client.close()
    lib.connection_should_be_closed(within="2s")


def test_the_server_side_closing_is_seen_by_the_client(lib):
    port = lib.listen_on_tcp_port()
    with socket.create_connection(("127.0.0.1", port), timeout=5) as client:
        lib.accept_connection()
        lib.send("bye")
        lib.close_connection()
        assert recv_until_closed(client) == b"bye"


# --- UDP ---------------------------------------------------------------------------------


def test_a_udp_endpoint_answers_the_sender_of_the_last_datagram(lib):
    port = lib.listen_on_udp_port(alias="server")
    first = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    second = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    with first, second:
        first.settimeout(5)
        second.settimeout(5)
        first.sendto(b"from first", ("127.0.0.1", port))
        lib.reply_should_be("from first")
        assert lib.get_peer_address() == f"127.0.0.1:{first.getsockname()[1]}"
        second.sendto(b"from second", ("127.0.0.1", port))
        lib.reply_should_be("from second")
        lib.send("FROM SECOND")
        assert second.recvfrom(100) == (b"FROM SECOND", ("127.0.0.1", port))
        first.setblocking(False)
        with pytest.raises(BlockingIOError):
            first.recv(100)


def test_a_udp_endpoint_cannot_answer_before_anyone_sent(lib):
    port = lib.listen_on_udp_port()
    message = fails(lib.send, "too early", limit=0)
    assert message == (
        f"cannot send from udp 127.0.0.1:{port}: no datagram has arrived yet, so there is "
        f"nobody to answer"
    )


def test_a_udp_endpoint_that_receives_nothing_fails_in_time(lib):
    lib.listen_on_udp_port()
    message = fails(lib.reply_should_be, "hello", timeout="200ms", limit=0.2)
    assert message == "Expected 'hello' but received nothing within 200ms"


def test_a_udp_endpoint_decodes_with_its_encoding(lib):
    port = lib.listen_on_udp_port(encoding="GBK")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as client:
        client.settimeout(5)
        client.sendto("你好".encode("gbk"), ("127.0.0.1", port))
        assert lib.receive() == "你好"
        lib.send("服务端收到信息啦!")
        assert client.recv(100).decode("gbk") == "服务端收到信息啦!"


# --- bounded, and nothing left behind ----------------------------------------------------


def test_no_thread_or_socket_is_left_after_close_all_connections(lib):
    threads = threading.active_count()
    sockets_before = _open_sockets()
    tcp = lib.listen_on_tcp_port()
    lib.listen_on_udp_port()
    with socket.create_connection(("127.0.0.1", tcp), timeout=5):
        lib.accept_connection()
    lib.close_all_connections()
    assert threading.active_count() == threads
    assert _open_sockets() == sockets_before


def _open_sockets() -> int:
    count = 0
    for fd in os.listdir("/proc/self/fd"):
        with contextlib.suppress(OSError):  # the listing's own descriptor is gone
            count += os.readlink(f"/proc/self/fd/{fd}").startswith("socket:")
    return count
