"""Sockets, receive buffers and deadlines. Knows nothing of Robot Framework.

A stream connection keeps every received byte in one buffer until a caller consumes it,
so nothing depends on how the peer's replies were segmented and nothing is lost between
reads. Every wait takes a timeout; the buffer has a size limit.
"""

from __future__ import annotations

import socket
import struct
import time
from collections import deque
from collections.abc import Callable

DEFAULT_BUFFER_LIMIT = 1024 * 1024
RECV_SIZE = 65536
MAX_DATAGRAM = 65535

# Called with (connection, event, data) for every send ("->"), every receive ("<-"), and
# the peer's close ("closed") or reset ("reset").
TrafficObserver = Callable[["Connection", str, bytes], None]


class TransportError(Exception):
    """Connecting, sending or receiving failed for a reason the peer or network gave."""


class ReceiveTimeout(TransportError):
    def __init__(self, pending: bytes) -> None:
        super().__init__("timed out")
        self.pending = pending


class PeerClosed(TransportError):
    def __init__(self, pending: bytes, how: str) -> None:
        super().__init__(f"connection {how} by the peer")
        self.pending = pending
        self.how = how  # "closed" (FIN) or "reset" (RST)


class BufferFull(TransportError):
    def __init__(self, pending: bytes, limit: int) -> None:
        super().__init__(f"receive buffer full ({limit} bytes)")
        self.pending = pending
        self.limit = limit


def describe_peer(family: int, address: object) -> str:
    if family == socket.AF_UNIX:
        return f"unix:{address}"
    host, port = address[0], address[1]
    return f"[{host}]:{port}" if family == socket.AF_INET6 else f"{host}:{port}"


class Connection:
    """What TCP and UDP connections share: a socket, a peer, an encoding and a timeout."""

    transport = "?"

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
    ) -> None:
        self.sock = sock
        self.peer = peer
        self.encoding = encoding
        self.timeout = timeout
        self.label = label
        self.opened_at = time.monotonic() if opened_at is None else opened_at
        self.closed = False
        self.sending_closed = False  # after a half-close (FIN sent)
        self._observer = observer

    @property
    def age(self) -> float:
        return time.monotonic() - self.opened_at

    @property
    def local(self) -> str:
        try:
            return describe_peer(self.sock.family, self.sock.getsockname())
        except OSError:
            return "?"

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
        except ConnectionRefusedError:
            raise TransportError(self._refused()) from None
        except OSError as error:
            raise TransportError(
                f"could not send to {self.peer}: {error.strerror or error}"
            ) from None
        self._observe("->", data)

    def _send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def _refused(self) -> str:
        return f"Connection refused by {self.peer}"

    def _check_open(self) -> None:
        if self.closed:
            raise TransportError(f"the connection to {self.peer} is closed")

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
        self.peer_state: str | None = None  # "closed" or "reset" once the peer has gone

    @property
    def pending(self) -> bytes:
        """Received bytes no read has consumed yet."""
        return bytes(self._buffer)

    def take(self, count: int) -> bytes:
        data = bytes(self._buffer[:count])
        del self._buffer[:count]
        return data

    def wait(self, decide: Callable[[bytearray], int | None], timeout: float) -> int:
        """Receive until ``decide(buffer)`` returns how many bytes make the answer.

        ``decide`` sees the whole buffer after each arrival (and before the first read)
        and returns ``None`` to keep waiting; it may raise to stop early. Nothing is
        consumed here: the caller ``take``s the answer. Raises ``ReceiveTimeout``,
        ``PeerClosed`` or ``BufferFull`` with the pending bytes.
        """
        self._check_open()
        deadline = time.monotonic() + timeout
        while True:
            count = decide(self._buffer)
            if count is not None:
                return count
            if self.peer_state:
                raise PeerClosed(self.pending, self.peer_state)
            if len(self._buffer) >= self.buffer_limit:
                raise BufferFull(self.pending, self.buffer_limit)
            if not self._receive_once(deadline - time.monotonic()):
                raise ReceiveTimeout(self.pending)

    def _receive_once(self, remaining: float) -> bool:
        """One read into the buffer; False if nothing came within ``remaining`` seconds."""
        self.sock.settimeout(max(remaining, 0.0))  # 0 makes it a non-blocking poll
        try:
            chunk = self.sock.recv(min(RECV_SIZE, self.buffer_limit - len(self._buffer)))
        except (TimeoutError, BlockingIOError):
            return False
        except ConnectionResetError:
            self.peer_state = "reset"
            self._observe("reset", b"")
            return True
        except OSError as error:
            raise TransportError(
                f"receive from {self.peer} failed: {error.strerror or error}"
            ) from None
        if chunk:
            self._buffer += chunk
            self._observe("<-", chunk)
        else:
            self.peer_state = "closed"
            self._observe("closed", b"")
        return True

    def half_close(self) -> None:
        """Send a FIN: this side sends nothing more, and still receives."""
        self._check_open()
        try:
            self.sock.shutdown(socket.SHUT_WR)
        except OSError as error:
            raise TransportError(
                f"could not half-close the connection to {self.peer}: {error.strerror or error}"
            ) from None
        self.sending_closed = True

    def reset(self) -> None:
        """Close with an RST: linger on, with a zero timeout."""
        if not self.closed:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.close()


class DatagramConnection(Connection):
    """A connected UDP endpoint: datagrams from any other address are dropped by the kernel."""

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

    def wait_datagram(self, timeout: float) -> bytes:
        """The next datagram, left pending until ``take_datagram``."""
        self._check_open()
        if self._pending:
            return self._pending[0]
        self.sock.settimeout(max(timeout, 0.0))
        try:
            data = self.sock.recv(MAX_DATAGRAM)
        except (TimeoutError, BlockingIOError):
            raise ReceiveTimeout(b"") from None
        except ConnectionRefusedError:
            raise TransportError(self._refused()) from None
        except OSError as error:
            raise TransportError(
                f"receive from {self.peer} failed: {error.strerror or error}"
            ) from None
        self._observe("<-", data)
        self._pending.append(data)
        return data

    def take_datagram(self) -> bytes:
        return self._pending.popleft()


def open_stream(
    host: str, port: int | None, *, connect_timeout: float, **options: object
) -> StreamConnection:
    """Connect over TCP (IPv4, IPv6) or to a Unix stream socket given as ``unix:/path``."""
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
    return StreamConnection(sock, peer, opened_at=opened_at, **options)


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
