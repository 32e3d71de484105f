"""TLS: the library's client side against the reference servers' TLS, with certificates
made at test time (trustme), and every way a handshake goes wrong saying why."""

from __future__ import annotations

import re
import socket
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import suppress
from pathlib import Path

import pytest
import trustme

from services import serve
from services.runner import Server, StreamHandler
from SocketLibrary import SocketFailure
from tests.helpers import ROOT, keyword_library, run_robot

VERSION_AND_CIPHER = r"TLSv1\.[23] [A-Z0-9_-]+"


class Certificates:
    def __init__(self, folder: Path) -> None:
        self.ca = trustme.CA()
        self.ca_file = str(folder / "ca.pem")
        self.ca.cert_pem.write_to_path(self.ca_file)
        self.server = str(folder / "server.pem")
        issued = self.ca.issue_cert("localhost", "127.0.0.1", "echo.test")
        issued.private_key_and_cert_chain_pem.write_to_path(self.server)
        self.client = str(folder / "client.pem")
        client = self.ca.issue_cert("grader@example.test")
        client.private_key_and_cert_chain_pem.write_to_path(self.client)
        self.other_ca_file = str(folder / "other-ca.pem")
        trustme.CA().cert_pem.write_to_path(self.other_ca_file)


@pytest.fixture(scope="module")
def certs(tmp_path_factory) -> Certificates:
    return Certificates(tmp_path_factory.mktemp("certs"))


@pytest.fixture(scope="module")
def tls_echo(certs) -> Iterator[tuple[str, int]]:
    with serve("echo", tls_cert=certs.server) as address:
        yield address


@pytest.fixture
def lib():
    with keyword_library(timeout="2s") as library:
        yield library


def fails(call, *args, limit: float, **kwargs) -> str:
    started = time.monotonic()
    with pytest.raises(SocketFailure) as failure:
        call(*args, **kwargs)
    assert time.monotonic() - started <= limit + 0.5, str(failure.value)
    return str(failure.value)


def test_a_conversation_over_tls_names_its_version_and_cipher(lib, certs, tls_echo):
    lib.open_tcp_connection(*tls_echo, tls=True, ca_file=certs.ca_file)
    assert re.fullmatch(VERSION_AND_CIPHER, lib._current().tls)
    lib.send("hello\n")
    lib.reply_should_be("Echo=>hello\n")
    lib.send_bytes("ff 00")
    assert lib.receive_exactly(8, as_bytes=True) == b"Echo=>\xff\x00"
    # A poll with no time left: TLS says "want read" where TCP would say "would block".
    lib.no_reply_within("0 s")
    lib.no_reply_within("100 ms")
    # Many TLS records (echo answers each chunk it reads), however they are read: every
    # byte arrives, in order.
    big = "".join(f"{n:07d}" for n in range(20_000)) + "END"
    lib.send(big)
    assert lib.receive_until("END").replace("Echo=>", "") == big


def test_a_half_close_over_tls_lets_the_last_reply_and_the_close_through(lib, certs, tls_echo):
    lib.open_tcp_connection(*tls_echo, tls=True, ca_file=certs.ca_file)
    lib.send("last")
    lib.half_close_connection()
    lib.reply_should_be("Echo=>last")
    lib.connection_should_be_closed(within="2s")


def test_the_server_name_can_differ_from_the_host(lib, certs, tls_echo):
    host, port = tls_echo
    lib.open_tcp_connection(
        host, port, tls=True, ca_file=certs.ca_file, server_hostname="echo.test"
    )
    lib.send("x")
    lib.reply_should_be("Echo=>x")


def test_an_untrusted_certificate_fails_and_says_so(lib, certs, tls_echo):
    message = fails(
        lib.open_tcp_connection, *tls_echo, tls=True, ca_file=certs.other_ca_file, limit=2
    )
    assert re.fullmatch(
        r"TLS handshake with 127\.0\.0\.1:\d+ failed: its certificate is not trusted "
        r"\(unable to get local issuer certificate\); give the CA that issued it as ca_file",
        message,
    )
    # The system's CAs do not know the test CA either: verification is on by default.
    assert "is not trusted" in fails(lib.open_tcp_connection, *tls_echo, tls=True, limit=2)


def test_a_wrong_hostname_fails_and_says_so(lib, certs, tls_echo):
    message = fails(
        lib.open_tcp_connection,
        *tls_echo,
        tls=True,
        ca_file=certs.ca_file,
        server_hostname="bank.example",
        limit=2,
    )
    assert message.endswith(
        "failed: its certificate is not valid for 'bank.example'; "
        "give the name it was issued for as server_hostname"
    )


def test_a_plain_text_peer_fails_and_says_so(lib, certs):
    with serve("echo") as plain:
        message = fails(lib.open_tcp_connection, *plain, tls=True, ca_file=certs.ca_file, limit=2)
    assert re.fullmatch(
        r"TLS handshake with 127\.0\.0\.1:\d+ failed: the peer does not speak TLS: "
        r"it answered with no TLS record \(\w+\)",
        message,
    )


def test_a_silent_peer_fails_within_the_connect_timeout(lib, certs):
    # A listening socket that never answers: the kernel accepts, nobody speaks.
    with socket.create_server(("127.0.0.1", 0)) as silent:
        message = fails(
            lib.open_tcp_connection,
            *silent.getsockname(),
            tls=True,
            ca_file=certs.ca_file,
            connect_timeout="300 ms",
            limit=0.3,
        )
    assert re.fullmatch(
        r"TLS handshake with 127\.0\.0\.1:\d+ did not finish within 0\.3s: "
        r"does the peer speak TLS\?",
        message,
    )


def test_without_verification_any_certificate_passes_and_the_log_says_so(lib, tls_echo):
    lib.open_tcp_connection(*tls_echo, tls=True, verify=False)
    assert lib._current().tls.endswith(", certificate NOT verified")


def test_tls_options_without_tls_are_an_error_not_a_plain_connection(lib, certs, tls_echo):
    with pytest.raises(ValueError, match=r"^ca_file and verify need tls=True$"):
        lib.open_tcp_connection(*tls_echo, ca_file=certs.ca_file, verify=False)


def test_a_client_certificate_is_presented_to_a_server_that_demands_one(lib, certs):
    demanding = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    demanding.load_cert_chain(certs.server)
    demanding.load_verify_locations(certs.ca_file)
    demanding.verify_mode = ssl.CERT_REQUIRED

    class Demanding(StreamHandler):
        def handle(self) -> None:
            self.chunks = 0
            self.ending = "done"
            with suppress(OSError), demanding.wrap_socket(self.request, server_side=True) as tls:
                (_kind, name), *_ = tls.getpeercert()["subjectAltName"]
                tls.sendall(f"hello {name}".encode())

    with Server("echo", port=0, handler=Demanding, stop_grace=0) as server:
        address = (server.host, server.port)
        lib.open_tcp_connection(*address, tls=True, ca_file=certs.ca_file, client_cert=certs.client)
        lib.reply_should_be("hello grader@example.test")
        lib.close_connection()
        # Without one, the server refuses: in TLS 1.3 that shows on the first read.
        lib.open_tcp_connection(*address, tls=True, ca_file=certs.ca_file)
        message = fails(lib.reply_should_be, "hello", limit=2)
        assert re.fullmatch(
            r"Expected 'hello' but: TLS error from 127\.0\.0\.1:\d+: "
            r"TLSV13_ALERT_CERTIFICATE_REQUIRED",
            message,
        )


def test_a_peer_that_closes_without_close_notify_is_a_close(lib, certs):
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(certs.server)

    class Abrupt(StreamHandler):
        def handle(self) -> None:
            self.chunks = 0
            self.ending = "done"
            with suppress(OSError):
                tls = context.wrap_socket(self.request, server_side=True)
                tls.sendall(b"bye")
                # The TCP FIN without TLS's close_notify.
                socket.socket.shutdown(tls, socket.SHUT_WR)

    with Server("echo", port=0, handler=Abrupt, stop_grace=0) as server:
        lib.open_tcp_connection(server.host, server.port, tls=True, ca_file=certs.ca_file)
        lib.reply_should_be("bye")
        lib.connection_should_be_closed(within="2s")


# --- the reference servers' command line, and a suite over TLS ---------------------------

TLS_SUITE = """
*** Settings ***
Library    SocketLibrary    timeout=2s
Suite Setup    Start TLS Echo
Suite Teardown    Stop All Servers
Test Teardown    Close All Connections

*** Test Cases ***
Echo Over TLS
    Open TCP Connection    localhost    ${{PORT}}    tls=True    ca_file={ca}
    Send    hello
    Reply Should Be    Echo=>hello
    Half Close Connection
    Connection Should Be Closed

*** Keywords ***
Start TLS Echo
    ${{port}}    Start Server
    ...    {python} -m services echo --port 0 --tls-cert {cert}    0    cwd={root}
    VAR    ${{PORT}}    ${{port}}    scope=SUITE
"""


@pytest.mark.slow
def test_a_suite_over_tls_against_the_reference_server_logs_version_and_cipher(tmp_path, certs):
    suite = tmp_path / "tls.robot"
    suite.write_text(
        TLS_SUITE.format(ca=certs.ca_file, cert=certs.server, python=sys.executable, root=ROOT)
    )
    result = run_robot(suite, tmp_path / "out", log=True, timeout=60)
    (test,) = result.suite.tests
    assert test.status == "PASS", test.message
    messages = [message for message in test.body[0].body if hasattr(message, "html")]
    assert re.fullmatch(
        rf"\+\d+\.\d{{3}}s #1 opened tcp 127\.0\.0\.1:\d+ → 127\.0\.0\.1:\d+ over "
        rf"{VERSION_AND_CIPHER}",
        messages[0].message,
    )
    (chart,) = [m for m in test.teardown.body if getattr(m, "html", False)]
    assert re.search(rf"connect, {VERSION_AND_CIPHER}", chart.message)


@pytest.mark.slow
def test_the_command_line_serves_tls_and_refuses_a_bad_certificate(tmp_path, certs):
    bad = tmp_path / "bad.pem"
    bad.write_text("not a certificate")
    done = subprocess.run(
        [sys.executable, "-m", "services", "echo", "--port", "0", "--tls-cert", str(bad)],
        capture_output=True,
        check=False,
        text=True,
        timeout=30,
        cwd=ROOT,
    )
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        f"echo: cannot listen on 127.0.0.1 port 0: cannot load the TLS certificate {bad}: PEM lib"
    ]
    udp = subprocess.run(
        [sys.executable, "-m", "services", "uppercase", "--tls-cert", certs.server],
        capture_output=True,
        check=False,
        text=True,
        timeout=30,
        cwd=ROOT,
    )
    assert udp.returncode == 2 and "unrecognized arguments: --tls-cert" in udp.stderr


def test_a_server_stop_ends_open_tls_connections_cleanly(lib, certs, monkeypatch):
    errors = []
    monkeypatch.setattr(threading, "excepthook", lambda args: errors.append(args.exc_value))
    with serve("echo", tls_cert=certs.server, stop_grace=0) as address:
        lib.open_tcp_connection(*address, tls=True, ca_file=certs.ca_file)
        lib.send("x")
        lib.reply_should_be("Echo=>x")
    lib.connection_should_be_closed(within="2s")
    assert errors == []


def test_tls_is_for_the_tcp_behaviours_only(certs):
    with pytest.raises(ValueError, match=r"^TLS is offered for the TCP behaviours only$"):
        Server("uppercase", port=0, tls_cert=certs.server)


@pytest.mark.slow
@pytest.mark.parametrize("behaviour", ["echo", "banner_echo", "timestamp", "welcome_timeout"])
def test_one_variable_runs_a_tcp_suite_over_tls_with_the_same_verdict(tmp_path, certs, behaviour):
    over_tls = {"TLS_CA": certs.ca_file, "TLS_CERT": certs.server}
    result = run_robot(behaviour, tmp_path / "out", over_tls, timeout=120)
    statuses = {test.name: test.status for test in result.suite.all_tests}
    assert "FAIL" not in statuses.values(), [
        (test.name, test.message) for test in result.suite.all_tests if test.failed
    ]
    assert list(statuses.values()).count("SKIP") == (behaviour != "banner_echo")


@pytest.mark.slow
def test_a_plain_server_fails_a_suite_over_tls_with_the_reason(tmp_path, certs):
    result = run_robot("echo", tmp_path / "out", {"TLS_CA": certs.ca_file}, timeout=120)
    tests = list(result.suite.all_tests)
    failed = [test for test in tests if test.failed]
    assert all("the peer does not speak TLS" in test.message for test in failed), [
        test.message for test in failed
    ]
    assert len(failed) == len(tests) - 1, "every test but the skipped beyond-seed one"
