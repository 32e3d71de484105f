"""The one socket runner every behaviour shares, composed from ``socketserver``.

A behaviour is a protocol (``services.protocols``) handed to a handler; nothing here knows
what a behaviour says. TCP servers give each client its own thread (so one idle client
never delays another); UDP servers answer each datagram in the serving thread, which keeps
replies in order and costs no thread per datagram.

TCP behaviours can run over TLS (``tls_cert``, ``tls_key``): each connection's handshake
runs on its own thread, bounded by ``HANDSHAKE_SECONDS``, so a client that never
completes it delays nobody.

Stopping is graceful and bounded: the server stops accepting, gives the conversations
still open up to ``stop_grace`` seconds (1 s by default) to end, then cuts the rest, and
every conversation logs its line before ``stop()`` returns.
"""

from __future__ import annotations

import logging
import os
import re
import socket
import socketserver
import ssl
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress

from .behaviours import BEHAVIOURS, Behaviour
from .protocols import DatagramProtocol, StreamProtocol

log = logging.getLogger("services")

# One read: a page. Python allocates the whole buffer for every recv(), and 64 KiB cost
# about a fifth of the round trips per second; the lessons' messages are far smaller.
RECV_SIZE = 4096
MAX_DATAGRAM = 65535
# After the server's last reply it half-closes and drains what the client still sends,
# so closing never turns into an RST that could destroy the reply in flight.
LINGER_SECONDS = 1.0
# How quickly serve_forever notices stop(): the wait of every stop. An idle server wakes
# 50 times a second for it, under 0.5% of a core.
POLL_INTERVAL = 0.02
# How long a stop waits for open conversations to end before it cuts them.
STOP_GRACE = 1.0
# How long cut conversations get to log and end: their threads wake from any socket call.
CUT_SECONDS = 0.5
# How long a TLS client may take to complete its handshake.
HANDSHAKE_SECONDS = 10.0


def split_host(host: str) -> tuple[socket.AddressFamily, str]:
    """``unix:/path`` -> AF_UNIX, ``::1`` -> AF_INET6, anything else -> AF_INET."""
    if host.startswith("unix:"):
        return socket.AF_UNIX, host[len("unix:") :]
    if ":" in host:
        return socket.AF_INET6, host.strip("[]")
    return socket.AF_INET, host


def format_address(family: socket.AddressFamily, address: object) -> str:
    if family == socket.AF_UNIX:
        return f"unix:{address}" if address else "unix client"
    host, port = address[0], address[1]
    return f"[{host}]:{port}" if family == socket.AF_INET6 else f"{host}:{port}"


class StreamHandler(socketserver.BaseRequestHandler):
    """Runs one TCP conversation; logs one line when it ends."""

    server: StreamServer

    def handle(self) -> None:
        protocol = self.server.protocol
        self.chunks = 0
        self.ending = "client closed"
        try:
            if isinstance(self.request, ssl.SSLSocket) and not self._handshake():
                return
            if protocol.greeting:
                self.send(protocol.greeting)
            self.request.settimeout(protocol.idle_timeout)
            while True:
                try:
                    chunk = self.request.recv(RECV_SIZE)
                except TimeoutError:
                    self.ending = f"idle for {protocol.idle_timeout:g}s, closed by server"
                    return
                if not chunk:
                    return
                self.chunks += 1
                self.send(protocol.reply(chunk))
                if protocol.close_after_reply:
                    self.ending = "replied, closed by server"
                    return
        except OSError as error:
            self.ending = f"ended by {type(error).__name__}: {error}"

    def _handshake(self) -> bool:
        self.request.settimeout(HANDSHAKE_SECONDS)
        try:
            self.request.do_handshake()
        except (OSError, ssl.SSLError) as error:
            reason = getattr(error, "reason", None) or error
            self.ending = f"TLS handshake failed: {reason}"
            return False
        return True

    def send(self, data: bytes) -> None:
        """Send one reply. Test variants override this to split or delay replies."""
        self.request.sendall(data)

    def finish(self) -> None:
        if self.server.was_cut(self.request):
            self.ending = "cut short by the server's stop"
        peer = format_address(self.server.address_family, self.client_address)
        log.info("%s: %d chunk(s), %s", peer, self.chunks, self.ending)


class DatagramHandler(socketserver.BaseRequestHandler):
    """Answers one datagram, always to the address it came from."""

    server: DatagramServer

    def handle(self) -> None:
        data, sock = self.request
        sock.sendto(self.server.protocol.reply(data), self.client_address)
        log.info(
            "%s: datagram of %d bytes",
            format_address(self.server.address_family, self.client_address),
            len(data),
        )


class _Serving:
    """What both servers share: an address family, a protocol, one log line per error."""

    default_handler: type[socketserver.BaseRequestHandler]

    def __init__(
        self,
        family: socket.AddressFamily,
        address: object,
        protocol: StreamProtocol | DatagramProtocol,
        handler: type[socketserver.BaseRequestHandler] | None = None,
    ) -> None:
        self.address_family = family
        self.protocol = protocol
        super().__init__(address, handler or self.default_handler)

    def handle_error(self, request: object, client_address: object) -> None:
        """One log line instead of socketserver's traceback on stderr."""
        log.exception("error serving %s", client_address)


class StreamServer(_Serving, socketserver.ThreadingMixIn, socketserver.TCPServer):
    # stop() waits for conversations itself, for a bounded time; a thread that still
    # runs after that never keeps the process alive.
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True
    request_queue_size = 1024
    default_handler = StreamHandler
    protocol: StreamProtocol

    def __init__(self, *args: object, tls: ssl.SSLContext | None = None, **kwargs: object) -> None:
        self._open: set[socket.socket] = set()  # conversations whose thread has not ended
        self._cut: set[socket.socket] = set()
        self._ended = threading.Condition()
        self.tls = tls
        super().__init__(*args, **kwargs)

    def get_request(self) -> tuple[socket.socket, object]:
        request, address = super().get_request()
        if self.tls:  # the handshake happens on the conversation's own thread
            request = self.tls.wrap_socket(request, server_side=True, do_handshake_on_connect=False)
        return request, address

    def process_request(self, request: socket.socket, client_address: object) -> None:
        with self._ended:
            self._open.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: socket.socket) -> None:
        try:
            if isinstance(request, ssl.SSLSocket):
                _send_close_notify(request)
            # A TCP FIN; on TLS too, since ssl's own shutdown would stop the draining below.
            socket.socket.shutdown(request, socket.SHUT_WR)
            request.settimeout(LINGER_SECONDS)
            deadline = time.monotonic() + LINGER_SECONDS
            while time.monotonic() < deadline and request.recv(RECV_SIZE):
                pass
        except OSError:
            pass
        finally:
            request.close()
            with self._ended:
                self._open.discard(request)
                self._ended.notify_all()

    def was_cut(self, request: socket.socket) -> bool:
        with self._ended:
            return request in self._cut

    def finish_conversations(self, grace: float) -> None:
        """Give open conversations up to ``grace`` seconds to end, then cut the rest."""
        with self._ended:
            if self._open:
                log.info(
                    "stopping: %d open connection(s) get up to %gs to finish",
                    len(self._open),
                    grace,
                )
            if self._ended.wait_for(lambda: not self._open, grace):
                return
            left = list(self._open)
            self._cut.update(left)
        log.info("stopping: cutting %d connection(s) still open after %gs", len(left), grace)
        for client in left:
            with suppress(OSError):
                # Wakes its thread from recv or send; on TLS too, keeping TLS in place.
                socket.socket.shutdown(client, socket.SHUT_RDWR)
        with self._ended:
            self._ended.wait_for(lambda: not self._open, CUT_SECONDS)


def _send_close_notify(request: ssl.SSLSocket) -> None:
    """Tell a TLS client that the stream ends here, without waiting for its answer."""
    request.setblocking(False)
    # ssl's errors are OSErrors ("want read" is the expected one); ValueError: no TLS left.
    with suppress(OSError, ValueError):
        request.unwrap()  # sends close_notify, then would wait for the client's
    request.setblocking(True)


class DatagramServer(_Serving, socketserver.UDPServer):
    max_packet_size = MAX_DATAGRAM
    default_handler = DatagramHandler
    protocol: DatagramProtocol

    def finish_conversations(self, grace: float) -> None:
        """Each datagram is answered before the serving loop ends: nothing is open."""


class Server:
    """A bound, listening server for one behaviour; ``start()`` serves it on a thread."""

    def __init__(
        self,
        name: str,
        host: str = "127.0.0.1",
        port: int | None = None,
        *,
        protocol: StreamProtocol | DatagramProtocol | None = None,
        handler: type[socketserver.BaseRequestHandler] | None = None,
        stop_grace: float = STOP_GRACE,
        tls_cert: str | None = None,
        tls_key: str | None = None,
        **options: object,
    ) -> None:
        if stop_grace < 0:
            raise ValueError(f"the stop grace cannot be negative: {stop_grace!r}")
        try:
            self.behaviour: Behaviour = BEHAVIOURS[name]
        except KeyError:
            raise ValueError(
                f"unknown behaviour {name!r}; choose one of {', '.join(BEHAVIOURS)}"
            ) from None
        protocol = protocol or self.behaviour.protocol(**options)
        family, bind_host = split_host(host)
        if family == socket.AF_UNIX:
            if self.behaviour.transport != "tcp":
                raise ValueError("unix sockets are offered for the TCP behaviours only")
            address: object = bind_host
        else:
            address = (bind_host, self.behaviour.default_port if port is None else port)
        if tls_cert or tls_key:
            if self.behaviour.transport != "tcp":
                raise ValueError("TLS is offered for the TCP behaviours only")
            tls = {"tls": server_tls_context(tls_cert, tls_key)}
        else:
            tls = {}
        server_class = StreamServer if self.behaviour.transport == "tcp" else DatagramServer
        self._server = server_class(family, address, protocol, handler, **tls)
        self._thread: threading.Thread | None = None
        self.stop_grace = stop_grace

    @property
    def transport(self) -> str:
        if self._server.address_family == socket.AF_UNIX:
            return "unix"
        return self.behaviour.transport

    @property
    def host(self) -> str:
        if self._server.address_family == socket.AF_UNIX:
            return f"unix:{self._server.server_address}"
        return self._server.server_address[0]

    @property
    def port(self) -> int:
        if self._server.address_family == socket.AF_UNIX:
            return 0
        return self._server.server_address[1]

    @property
    def listening_line(self) -> str:
        """The readiness line: ``LISTENING tcp 127.0.0.1:50007``."""
        if self._server.address_family == socket.AF_UNIX:
            return f"LISTENING unix {self._server.server_address}"
        address = format_address(self._server.address_family, self._server.server_address)
        return f"LISTENING {self.behaviour.transport} {address}"

    def start(self) -> Server:
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": POLL_INTERVAL},
            name=f"serve-{self.behaviour.name}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop accepting and release the address; give open conversations up to
        ``stop_grace`` seconds to end, then cut them. Each has logged its line on return."""
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join()
            self._thread = None
        self._server.server_close()
        if self._server.address_family == socket.AF_UNIX:
            with suppress(OSError):
                os.unlink(self._server.server_address)
        self._server.finish_conversations(self.stop_grace)

    def __enter__(self) -> Server:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def server_tls_context(cert: str | None, key: str | None) -> ssl.SSLContext:
    """A server context: TLS 1.2 or newer, with the certificate chain in ``cert`` (PEM) and
    its key in ``key`` or in ``cert``."""
    if not cert:
        raise ValueError("a TLS key needs its certificate (--tls-cert)")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    # A client that half-closes sends a TCP FIN, not close_notify (Python's ssl cannot
    # send one and go on reading): take it as the end of its input, as over plain TCP,
    # instead of answering with an alert.
    context.options |= ssl.OP_IGNORE_UNEXPECTED_EOF
    try:
        context.load_cert_chain(cert, key)
    except (OSError, ssl.SSLError) as error:
        # "[SSL] PEM lib (_ssl.c:3905)" says "PEM lib"
        reason = re.sub(r"^\[\w+\] | \(_ssl\.c:\d+\)$", "", str(error.strerror or error))
        raise ValueError(f"cannot load the TLS certificate {cert}: {reason}") from None
    return context


@contextmanager
def serve(
    name: str, host: str = "127.0.0.1", port: int = 0, **options: object
) -> Iterator[tuple[str, int]]:
    """Serve a behaviour on a background thread; yields ``(host, port)`` once listening.

    ``options`` are the behaviour's (``idle_timeout=``), ``stop_grace=`` (seconds), and
    ``tls_cert=``/``tls_key=`` (PEM files) to serve a TCP behaviour over TLS.

    >>> with serve("echo") as (host, port):
    ...     pass
    """
    with Server(name, host, port, **options) as server:
        yield server.host, server.port
