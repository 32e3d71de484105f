"""Sockets, receive buffers and deadlines. Knows nothing of Robot Framework.

A stream connection keeps every received byte in one buffer until a caller consumes it,
so nothing depends on how the peer's replies were segmented and nothing is lost between
reads. Every wait takes a timeout; the buffer has a size limit.

Both kinds of connection offer one wait primitive, ``wait(matcher, timeout)``. It
never raises for what the peer does: it returns an ``Outcome`` (matched, differs, timed
out, closed, reset, buffer full, or failed with the reason) carrying the bytes concerned
and the time waited, as a sans-IO parser returns events. Nothing is consumed by waiting;
``consume(outcome)`` takes a matched answer. What TCP and UDP do differently (a stream
versus whole datagrams, a close versus an ICMP refusal) is decided here, not by callers.

A stream may run over TLS (``open_stream(..., tls=TlsOptions())``): the handshake is
bounded by the connect timeout, the certificate is verified unless told otherwise, and
TLS's own ends (close_notify, a TCP FIN without it, an alert) map onto the same outcomes.
"""

from __future__ import annotations

import contextlib
import enum
import errno
import os
import select
import socket
import ssl
import struct
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Protocol

DEFAULT_BUFFER_LIMIT = 1024 * 1024
# How long a wait still looks for data once its sender has exited (see in_flight).
IN_FLIGHT_GRACE = 0.5
RECV_SIZE = 65536
MAX_DATAGRAM = 65535

# Called with (connection, event, data) for every send ("->"), every receive ("<-"), and
# the peer's close ("closed"; "truncated" for a TLS peer that sent no close_notify) or
# reset ("reset").
TrafficObserver = Callable[["Connection", str, bytes], None]

# What ``Matcher.scan`` returns when the buffer can no longer become the answer.
CANNOT_MATCH = -1


class TransportError(Exception):
    """Connecting or sending failed for a reason the peer, the network or the caller gave."""


class Matcher(Protocol):
    """What a wait waits for. Implementations judge bytes; they never touch the socket."""

    def scan(self, buffer: bytearray) -> int | None:
        """On a stream: how many leading bytes of ``buffer`` make the answer,
        ``CANNOT_MATCH`` if no further byte can make it one, or None to wait for more."""

    def whole(self, datagram: bytes) -> bool:
        """On datagrams: whether this whole datagram is the answer."""


@dataclass(frozen=True, slots=True)
class TlsOptions:
    """How to run a stream over TLS. Verified against the system's CAs by default."""

    ca_file: str | None = None  # CA certificates (PEM) to trust instead of the system's
    verify: bool = True  # False: accept any certificate and any name (said in the log)
    server_hostname: str | None = None  # the name to check and send (SNI); default: host
    client_cert: str | None = None  # PEM certificate (and key) to present to the server
    client_key: str | None = None


def in_flight(sock: socket.socket, deadline: float) -> bool:
    """Whether ``sock`` becomes readable within a short grace, once the process that was to
    send has exited: on loopback the kernel may still be delivering what it sent just
    before (under load, the delivery can run after the sender has gone)."""
    grace = min(IN_FLIGHT_GRACE, max(deadline - time.monotonic(), 0.0))
    poller = select.poll()
    poller.register(sock, select.POLLIN)
    return bool(poller.poll(grace * 1000))


class Kind(enum.Enum):
    MATCHED = "matched"
    DIFFERS = "differs"  # the received bytes can no longer be the answer
    TIMED_OUT = "timed out"
    CLOSED = "closed"  # the peer closed the stream (FIN)
    RESET = "reset"  # the peer reset the stream (RST)
    BUFFER_FULL = "buffer full"
    FAILED = "failed"  # the network or the peer's host said why: ``reason``
    ABANDONED = "abandoned"  # the process that was to send has ended: nothing more can come


@dataclass(frozen=True, slots=True)
class Outcome:
    """How a wait ended.

    ``data`` is the answer when ``kind`` is MATCHED, else everything received and not yet
    consumed (the datagram that differs, the bytes before a close, the full buffer).
    ``waited`` is how long the wait took, ``timeout`` how long it was allowed to take.
    ``late`` says that what ended the wait was seen only after the deadline (the process
    got no CPU in time), so it may have happened after the deadline too.
    """

    kind: Kind
    data: bytes
    waited: float
    timeout: float
    reason: str = ""
    late: bool = False


def describe_peer(family: int, address: object) -> str:
    if family == socket.AF_UNIX:
        return f"unix:{address}"
    host, port = address[0], address[1]
    return f"[{host}]:{port}" if family == socket.AF_INET6 else f"{host}:{port}"


class Connection:
    """What TCP and UDP connections share: a socket, a peer, an encoding and a timeout."""

    transport = "?"
    role = "client"  # what this endpoint is: it connected to its peer

    def __init__(
        self,
        sock: socket.socket,
        peer: str,
        *,
        encoding: str,
        timeout: float,
        observer: TrafficObserver | None = None,
        label: str = "",
        opened_at: float | None = None,
        newline: str = "\n",
    ) -> None:
        self.sock = sock
        self.peer = peer
        self.encoding = encoding
        self.timeout = timeout
        self.newline = newline  # what Send Line adds and Receive Line reads up to
        self.label = label
        self.opened_at = time.monotonic() if opened_at is None else opened_at
        self.closed = False
        self.sending_closed = False  # after a half-close (FIN sent)
        self._observer = observer
        self.tls = _tls_summary(sock)  # "TLSv1.3 TLS_AES_256_GCM_SHA384", or ""
        try:
            self.local = describe_peer(sock.family, sock.getsockname())
        except OSError:
            self.local = "?"

    @property
    def age(self) -> float:
        return time.monotonic() - self.opened_at

    def _observe(self, direction: str, data: bytes) -> None:
        if self._observer:
            self._observer(self, direction, data)

    def send(self, data: bytes) -> None:
        self._check_open()
        if self.sending_closed:
            raise TransportError(
                f"cannot send to {self.peer}: this side has half-closed the connection"
            )
        self.sock.settimeout(self.timeout)
        try:
            self._send(data)
        except TimeoutError:
            raise TransportError(
                f"could not send {len(data)} bytes to {self.peer} within {self.timeout:g}s: "
                f"the peer is not reading"
            ) from None
        except OSError as error:
            raise TransportError(self._error_text("send to", error)) from None
        self._observe("->", data)

    def _send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def wait(self, matcher: Matcher, timeout: float) -> Outcome:
        """Receive until ``matcher`` is satisfied or cannot be, for at most ``timeout`` s."""
        raise NotImplementedError

    def consume(self, outcome: Outcome) -> None:
        """Take a matched answer out of the buffer; the bytes after it stay."""
        raise NotImplementedError

    def _error_text(self, action: str, error: OSError) -> str:
        """One line for an error the network reported while sending or receiving."""
        if isinstance(error, ConnectionRefusedError):
            return self._refused()
        return f"could not {action} {self.peer}: {error.strerror or error}"

    def _refused(self) -> str:
        return f"Connection refused by {self.peer}"

    def _closed_text(self) -> str:
        return f"the connection to {self.peer} is closed"

    def _check_open(self) -> None:
        if self.closed:
            raise TransportError(self._closed_text())

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.sock.close()


class StreamConnection(Connection):
    """A TCP (or Unix stream) connection with a receive buffer shared by every read."""

    transport = "tcp"

    def __init__(
        self,
        sock: socket.socket,
        peer: str,
        *,
        buffer_limit: int = DEFAULT_BUFFER_LIMIT,
        **options: object,
    ) -> None:
        super().__init__(sock, peer, **options)
        self.buffer_limit = buffer_limit
        self._buffer = bytearray()
        self.peer_state: Kind | None = None  # CLOSED or RESET once the peer has gone
        self._error = ""  # why the last read failed

    @property
    def pending(self) -> bytes:
        """Received bytes no read has consumed yet."""
        return bytes(self._buffer)

    def wait(self, matcher: Matcher, timeout: float) -> Outcome:
        """Receive until ``matcher.scan(buffer)`` decides, the peer ends the stream, the
        buffer fills up or ``timeout`` passes; the matcher sees the whole buffer after
        each arrival and before the first read."""
        started = time.monotonic()
        if self.closed:
            return Outcome(Kind.FAILED, b"", 0.0, timeout, self._closed_text())
        deadline = started + timeout
        buffer = self._buffer
        reason = ""
        late = False
        while True:
            count = matcher.scan(buffer)
            if count is not None:
                kind = Kind.DIFFERS if count == CANNOT_MATCH else Kind.MATCHED
                break
            if self.peer_state:
                kind = self.peer_state
                break
            if len(buffer) >= self.buffer_limit:
                kind = Kind.BUFFER_FULL
                break
            ended = self._receive_once(deadline - time.monotonic())
            if ended:
                kind, late = ended, False
                reason = self._error if ended is Kind.FAILED else ""
                break
            late = time.monotonic() > deadline
        data = bytes(buffer[:count]) if kind is Kind.MATCHED else bytes(buffer)
        return Outcome(kind, data, time.monotonic() - started, timeout, reason, late)

    def consume(self, outcome: Outcome) -> None:
        del self._buffer[: len(outcome.data)]

    def _receive_once(self, remaining: float) -> Kind | None:
        """One read into the buffer: None if data or the peer's end arrived, TIMED_OUT if
        nothing came within ``remaining`` seconds, FAILED (with ``_error``) otherwise."""
        self.sock.settimeout(max(remaining, 0.0))  # 0 makes it a non-blocking poll
        try:
            chunk = self.sock.recv(min(RECV_SIZE, self.buffer_limit - len(self._buffer)))
        except (TimeoutError, BlockingIOError, ssl.SSLWantReadError):
            # A TLS socket polled without a timeout says "want read", not "would block".
            return Kind.TIMED_OUT
        except ConnectionResetError:
            self.peer_state = Kind.RESET
            self._observe("reset", b"")
            return None
        except ssl.SSLEOFError:
            # A TCP FIN without TLS's close_notify: closed, though it could be a truncation.
            self.peer_state = Kind.CLOSED
            self._observe("truncated", b"")
            return None
        except ssl.SSLError as error:
            self._error = f"TLS error from {self.peer}: {error.reason or error}"
            return Kind.FAILED
        except OSError as error:
            self._error = self._error_text("receive from", error)
            return Kind.FAILED
        if chunk:
            self._buffer += chunk
            self._observe("<-", chunk)
        else:
            self.peer_state = Kind.CLOSED
            self._observe("closed", b"")
        return None

    def half_close(self) -> None:
        """Send a FIN: this side sends nothing more, and still receives."""
        self._check_open()
        try:
            # On TLS too, a TCP FIN only: ssl's own shutdown would drop TLS for reading.
            socket.socket.shutdown(self.sock, socket.SHUT_WR)
        except OSError as error:
            raise TransportError(self._error_text("half-close the connection to", error)) from None
        self.sending_closed = True

    def reset(self) -> None:
        """Close with an RST: linger on, with a zero timeout."""
        if not self.closed:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.close()


class DatagramConnection(Connection):
    """A connected UDP endpoint: datagrams from any other address are dropped by the kernel.

    A datagram is a whole message: it is the answer or it differs, and a wait takes the
    next one only. A peer cannot close or reset; an ICMP "port unreachable" is a refusal.
    """

    transport = "udp"

    def __init__(self, sock: socket.socket, peer: str, **options: object) -> None:
        super().__init__(sock, peer, **options)
        self._pending: deque[bytes] = deque()

    def _send(self, data: bytes) -> None:
        sent = self.sock.send(data)
        if sent != len(data):
            raise OSError(f"only {sent} of {len(data)} bytes fitted in the datagram")

    def _refused(self) -> str:
        return (
            f"Connection refused by {self.peer}: nothing listens on that UDP port "
            f"(ICMP port unreachable)"
        )

    def wait(self, matcher: Matcher, timeout: float) -> Outcome:
        """Judge the next datagram, waiting at most ``timeout`` seconds for it to arrive."""
        started = time.monotonic()
        if self.closed:
            return Outcome(Kind.FAILED, b"", 0.0, timeout, self._closed_text())
        late = False
        if not self._pending:
            self.sock.settimeout(max(timeout, 0.0))
            try:
                datagram = self._receive_datagram()
            except (TimeoutError, BlockingIOError):
                return Outcome(Kind.TIMED_OUT, b"", time.monotonic() - started, timeout)
            except OSError as error:
                reason = self._error_text("receive from", error)
                return Outcome(Kind.FAILED, b"", time.monotonic() - started, timeout, reason)
            self._observe("<-", datagram)
            self._pending.append(datagram)
            late = time.monotonic() > started + timeout
        datagram = self._pending[0]
        kind = Kind.MATCHED if matcher.whole(datagram) else Kind.DIFFERS
        return Outcome(kind, datagram, time.monotonic() - started, timeout, late=late)

    def _receive_datagram(self) -> bytes:
        return self.sock.recv(MAX_DATAGRAM)

    def consume(self, outcome: Outcome) -> None:
        self._pending.popleft()


def open_stream(
    host: str,
    port: int | None,
    *,
    connect_timeout: float,
    tls: TlsOptions | None = None,
    **options: object,
) -> StreamConnection:
    """Connect over TCP (IPv4, IPv6) or to a Unix stream socket given as ``unix:/path``,
    then, with ``tls``, do the TLS handshake, all within ``connect_timeout``."""
    if host.startswith("unix:"):
        path = host[len("unix:") :]
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        peer = f"unix:{path}"
        target: object = path
    else:
        family, target = _resolve(host, port, socket.SOCK_STREAM)
        sock = socket.socket(family, socket.SOCK_STREAM)
        peer = describe_peer(family, target)
    sock.settimeout(connect_timeout)
    # The age counts from before the connect: a server's own timer for this connection
    # (an idle timeout) cannot start earlier, however late this process runs afterwards.
    opened_at = time.monotonic()
    try:
        sock.connect(target)
    except OSError as error:
        sock.close()
        raise _connect_error(error, peer, connect_timeout) from None
    if sock.family != socket.AF_UNIX:
        # Each Send goes out at once: Nagle would hold small writes back a round trip.
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    if tls is not None:
        sock = _start_tls(sock, tls, host, peer, opened_at + connect_timeout, connect_timeout)
    return StreamConnection(sock, peer, opened_at=opened_at, **options)


def tls_context(tls: TlsOptions) -> ssl.SSLContext:
    """A client context: TLS 1.2 or newer, the certificate and the name checked unless
    ``verify`` is off."""
    try:
        context = ssl.create_default_context(cafile=tls.ca_file)
        if not tls.verify:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        if tls.client_cert:
            context.load_cert_chain(tls.client_cert, tls.client_key)
    except (OSError, ssl.SSLError) as error:
        raise TransportError(f"cannot set up TLS: {_tls_reason(error)}") from None
    return context


def _start_tls(
    sock: socket.socket, tls: TlsOptions, host: str, peer: str, deadline: float, limit: float
) -> ssl.SSLSocket:
    context = tls_context(tls)
    name = tls.server_hostname or (None if host.startswith("unix:") else host.strip("[]"))
    try:
        wrapped = context.wrap_socket(
            sock, server_hostname=name, do_handshake_on_connect=False, suppress_ragged_eofs=False
        )
        # One call, one deadline: ssl bounds the whole handshake by the socket's timeout.
        wrapped.settimeout(max(deadline - time.monotonic(), 0.001))
        wrapped.do_handshake()
    except TimeoutError:
        sock.close()
        raise TransportError(
            f"TLS handshake with {peer} did not finish within {limit:g}s: does the peer speak TLS?"
        ) from None
    except ssl.SSLCertVerificationError as error:
        sock.close()
        raise TransportError(_untrusted(error, peer, name)) from None
    except (ssl.SSLEOFError, ConnectionError) as error:
        sock.close()
        raise TransportError(
            f"TLS handshake with {peer} failed: the peer closed the connection "
            f"({_tls_reason(error)}); does it speak TLS?"
        ) from None
    except (ssl.SSLError, OSError) as error:
        sock.close()
        reason = _tls_reason(error)
        if getattr(error, "reason", "") in NOT_TLS:
            reason = f"the peer does not speak TLS: it answered with no TLS record ({reason})"
        raise TransportError(f"TLS handshake with {peer} failed: {reason}") from None
    return wrapped


# OpenSSL's reasons when the bytes that came back were not a TLS record.
NOT_TLS = {
    "WRONG_VERSION_NUMBER",
    "RECORD_LAYER_FAILURE",
    "PACKET_LENGTH_TOO_LONG",
    "UNKNOWN_PROTOCOL",
    "HTTP_REQUEST",
    "UNEXPECTED_EOF_WHILE_READING",
}
HOSTNAME_MISMATCH = 62  # X509_V_ERR_HOSTNAME_MISMATCH
IP_MISMATCH = 64  # X509_V_ERR_IP_ADDRESS_MISMATCH


def _untrusted(error: ssl.SSLCertVerificationError, peer: str, name: str | None) -> str:
    if error.verify_code in (HOSTNAME_MISMATCH, IP_MISMATCH):
        return (
            f"TLS handshake with {peer} failed: its certificate is not valid for {name!r}; "
            f"give the name it was issued for as server_hostname"
        )
    return (
        f"TLS handshake with {peer} failed: its certificate is not trusted "
        f"({error.verify_message}); give the CA that issued it as ca_file"
    )


def _tls_reason(error: OSError) -> str:
    reason = getattr(error, "verify_message", None) or getattr(error, "reason", None)
    return str(reason or error.strerror or error)


def _tls_summary(sock: socket.socket) -> str:
    if not isinstance(sock, ssl.SSLSocket):
        return ""
    cipher = sock.cipher()
    summary = f"{sock.version()} {cipher[0] if cipher else ''}".strip()
    if sock.context.verify_mode == ssl.CERT_NONE:
        summary += ", certificate NOT verified"
    return summary


def open_datagram(host: str, port: int, **options: object) -> DatagramConnection:
    family, target = _resolve(host, port, socket.SOCK_DGRAM)
    sock = socket.socket(family, socket.SOCK_DGRAM)
    peer = describe_peer(family, target)
    try:
        sock.connect(target)
    except OSError as error:
        sock.close()
        raise _connect_error(error, peer, 0) from None
    return DatagramConnection(sock, peer, **options)


def _resolve(host: str, port: int | None, kind: int) -> tuple[int, object]:
    if port is None:
        raise TransportError(f"a port is needed to connect to {host}")
    try:
        family, _type, _proto, _name, address = socket.getaddrinfo(
            host.strip("[]"), port, type=kind
        )[0]
    except socket.gaierror as error:
        raise TransportError(f"cannot resolve host {host!r}: {error.strerror}") from None
    except OverflowError:
        raise TransportError(f"port {port} is not between 0 and 65535") from None
    return family, address


def _connect_error(error: OSError, peer: str, timeout: float) -> TransportError:
    if isinstance(error, ConnectionRefusedError):
        return TransportError(f"Connection refused by {peer}")
    if isinstance(error, TimeoutError):
        return TransportError(f"Could not connect to {peer} within {timeout:g}s")
    if isinstance(error, FileNotFoundError):
        return TransportError(f"Could not connect to {peer}: no such socket file")
    return TransportError(f"Could not connect to {peer}: {error.strerror or error}")


# --- The server side: listening, accepting, and answering datagrams ---------------------
#
# The library plays the server when the program under test is a client. An accepted
# connection is an ordinary StreamConnection, and a listening UDP endpoint is a
# DatagramConnection that answers whoever sent the last datagram. No thread is involved:
# every accept and receive runs on the caller's thread, bounded by its timeout.

LISTEN_BACKLOG = 16


class Abandoned(TransportError):
    """A wait was given up because what it waited for can no longer come."""


class Listener:
    """A listening TCP (or Unix stream) socket; ``accept`` hands out stream connections."""

    transport = "tcp"

    def __init__(self, sock: socket.socket, unix_path: str | None = None) -> None:
        self.sock = sock
        self.unix_path = unix_path  # the socket file this listener made, removed on close
        self.closed = False
        self.address = describe_peer(sock.family, sock.getsockname())
        self.label = ""
        self.opened_at = time.monotonic()

    @property
    def age(self) -> float:
        return time.monotonic() - self.opened_at

    @property
    def port(self) -> int:
        """The bound port; 0 for a Unix socket."""
        return 0 if self.unix_path else self.sock.getsockname()[1]

    def accept(
        self, wait: float, *, unless: int | None = None, **options: object
    ) -> StreamConnection:
        """The next client's connection, waiting at most ``wait`` seconds for one;
        ``options`` are the connection's (its ``timeout``, ``encoding``...).

        ``unless`` is a descriptor (a pidfd: the client process) whose readiness ends the
        wait early with ``Abandoned``, unless a connection is already waiting."""
        if self.closed:
            raise TransportError(f"the listener on {self.transport} {self.address} is closed")
        started = time.monotonic()
        deadline = started + max(wait, 0.0)
        poller = select.poll()
        poller.register(self.sock, select.POLLIN)
        if unless is not None:
            poller.register(unless, select.POLLIN)
        self.sock.settimeout(0.0)  # accept only what poll saw waiting
        while True:
            ready = {fd for fd, _event in poller.poll(max(deadline - time.monotonic(), 0) * 1000)}
            if self.sock.fileno() in ready:
                try:
                    sock, address = self.sock.accept()
                    break
                except BlockingIOError:  # it went away (a reset) before it was taken
                    continue
                except OSError as error:
                    raise TransportError(
                        f"could not accept a connection on {self.address}: "
                        f"{error.strerror or error}"
                    ) from None
            if ready:  # only its exit: did it connect just before?
                if in_flight(self.sock, deadline):
                    continue
                raise Abandoned(f"no client connected to {self.transport} {self.address}")
            if time.monotonic() >= deadline:
                raise TransportError(
                    f"no client connected to {self.transport} {self.address} within {wait:g}s"
                )
        sock.settimeout(None)
        if sock.family != socket.AF_UNIX:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        peer = "unix client" if self.unix_path else describe_peer(sock.family, address)
        # Its age counts from the start of the accept: the client connected no later.
        connection = StreamConnection(sock, peer, opened_at=started, **options)
        connection.role = "server"
        return connection

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.sock.close()
            if self.unix_path:
                with contextlib.suppress(OSError):
                    os.unlink(self.unix_path)


class AnsweringDatagramConnection(DatagramConnection):
    """A bound, unconnected UDP endpoint: it receives from anyone, and ``send`` answers
    the sender of the last datagram received. ``peer`` names that sender."""

    role = "server"

    def __init__(self, sock: socket.socket, **options: object) -> None:
        super().__init__(sock, "nobody yet", **options)
        self.sender: object = None

    def wait(self, matcher: Matcher, timeout: float, *, unless: int | None = None) -> Outcome:
        """Judge the next datagram, as a connected endpoint does. ``unless`` is a
        descriptor (a pidfd: the client process) whose readiness ends the wait as
        ABANDONED when no datagram is waiting: a datagram sent before the exit is read."""
        if unless is None or self._pending or self.closed:
            return super().wait(matcher, timeout)
        started = time.monotonic()
        poller = select.poll()
        poller.register(self.sock, select.POLLIN)
        poller.register(unless, select.POLLIN)
        ready = {fd for fd, _event in poller.poll(max(timeout, 0.0) * 1000)}
        if ready and self.sock.fileno() not in ready and in_flight(self.sock, started + timeout):
            ready.add(self.sock.fileno())  # sent just before it exited
        if self.sock.fileno() in ready:  # read at once; an error is reported as usual
            outcome = super().wait(matcher, max(started + timeout - time.monotonic(), 0.0))
            return replace(outcome, waited=time.monotonic() - started, timeout=timeout)
        kind = Kind.ABANDONED if ready else Kind.TIMED_OUT
        return Outcome(kind, b"", time.monotonic() - started, timeout)

    def _receive_datagram(self) -> bytes:
        datagram, self.sender = self.sock.recvfrom(MAX_DATAGRAM)
        self.peer = describe_peer(self.sock.family, self.sender)
        return datagram

    def _send(self, data: bytes) -> None:
        if self.sender is None:
            raise OSError(
                f"cannot send from udp {self.local}: no datagram has arrived yet, so there "
                f"is nobody to answer"
            )
        sent = self.sock.sendto(data, self.sender)
        if sent != len(data):
            raise OSError(f"only {sent} of {len(data)} bytes fitted in the datagram")

    def _error_text(self, action: str, error: OSError) -> str:
        if self.sender is None:
            return error.strerror or str(error)
        return super()._error_text(action, error)


def listen_stream(host: str, port: int | None) -> Listener:
    """Listen on TCP (IPv4, IPv6; port 0 takes a free one) or on ``unix:/path``."""
    if host.startswith("unix:"):
        path = host[len("unix:") :]
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.bind(path)
            sock.listen(LISTEN_BACKLOG)
        except OSError as error:
            sock.close()
            raise _listen_error(error, f"unix:{path}") from None
        return Listener(sock, unix_path=path)
    sock = _bound(host, port, socket.SOCK_STREAM)
    try:
        sock.listen(LISTEN_BACKLOG)
    except OSError as error:
        sock.close()
        raise _listen_error(error, f"tcp {host} port {port}") from None
    return Listener(sock)


def listen_datagram(host: str, port: int | None, **options: object) -> AnsweringDatagramConnection:
    """Bind a UDP endpoint that receives from anyone and answers the last sender."""
    return AnsweringDatagramConnection(_bound(host, port, socket.SOCK_DGRAM), **options)


def _bound(host: str, port: int | None, kind: int) -> socket.socket:
    family, address = _resolve(host, 0 if port is None else port, kind)
    sock = socket.socket(family, kind)
    if kind == socket.SOCK_STREAM:
        # A fixed port is free again at once after the previous run's connections.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
    except OSError as error:
        sock.close()
        protocol = "tcp" if kind == socket.SOCK_STREAM else "udp"
        raise _listen_error(error, f"{protocol} {host} port {port}") from None
    return sock


def _listen_error(error: OSError, where: str) -> TransportError:
    if isinstance(error, OSError) and error.errno == errno.EADDRINUSE:
        return TransportError(f"cannot listen on {where}: it is already in use")
    return TransportError(f"cannot listen on {where}: {error.strerror or error}")
