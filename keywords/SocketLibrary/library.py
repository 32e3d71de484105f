"""The SocketLibrary keyword class: thin keywords over the transport and process modules."""

from __future__ import annotations

import codecs
import contextlib
import os
import re
import select
import shlex
import tempfile
import threading
import time
import uuid
import weakref
from datetime import timedelta
from pathlib import Path
from typing import NoReturn

from robot.api import logger
from robot.api.deco import keyword
from robot.libraries.BuiltIn import BuiltIn, RobotNotRunningError
from robot.utils import ConnectionCache

from . import __version__, facts
from .clients import ClientKeywords
from .display import described, failure, parse_hex, quote, seconds_text, to_seconds
from .expectations import (
    AnyData,
    Count,
    Exactly,
    Expectation,
    NoData,
    Pattern,
    PeerClose,
    StaysOpen,
    UpTo,
)
from .handoff import launcher_from
from .listening import ListeningKeywords
from .processes import (
    ManagedProcess,
    ProcessError,
    bound_sockets,
    describe_exit,
    split_command,
    wait_for_exit,
)
from .transcript import Transcript
from .transport import (
    DEFAULT_BUFFER_LIMIT,
    Connection,
    Kind,
    Outcome,
    StreamConnection,
    TlsOptions,
    TransportError,
    open_datagram,
    open_stream,
)

__all__ = ["SocketFailure", "SocketLibrary"]
# How long a server that has stopped listening may take to end on its own.
ENDING_SECONDS = 2.0


class SocketFailure(AssertionError):
    """A keyword's check failed; Robot shows only the message."""

    ROBOT_SUPPRESS_NAME = True


class SocketLibrary(ListeningKeywords, ClientKeywords):
    """Keywords for checking TCP and UDP conversations, byte-exact and bounded in time.

    SocketLibrary opens client connections to a server, sends text or bytes, and checks
    the replies. It treats TCP as the byte stream it is: a reply may arrive in several
    pieces or together with the next one, and the result never depends on that. Every
    keyword that waits has a time limit, and every failure says what was expected, what
    arrived and how long it waited. It can also start and stop the server under test.

    Import it by name, with optional defaults:
    | Library | SocketLibrary |
    | Library | SocketLibrary | timeout=2s | encoding=GBK |

    %TOC%

    = Connections =

    `Open TCP Connection` and `Open UDP Connection` return an index and take an optional
    ``alias``. The newest connection is the current one, and every other keyword works on
    the current connection. `Switch Connection` changes it and returns the previous index.
    Put `Close All Connections` in a teardown.

    Hosts can be IPv4 (``127.0.0.1``), IPv6 (``::1``), names (``localhost``), or a Unix
    stream socket given as ``unix:/path/to.sock`` with no port.

    A UDP connection is a connected datagram socket: `Send` sends one datagram, and only
    datagrams coming from the server's own address and port are received. `Open UDP
    Connection` cannot tell whether a server listens; the first receive after a send to a
    closed port fails with ``Connection refused``.

    = Timeouts =

    Each connection has a timeout, 5 seconds unless set at import, at open, or with
    `Set Connection Timeout`. Every keyword that waits also takes ``timeout`` (or
    ``within``) to override it for one call. Times use Robot Framework's format:
    ``500 ms``, ``2s``, ``1 min 30 s``, or a plain number of seconds.

    No keyword waits longer than its limit. `Reply Should Be` on TCP fails at the first
    byte that differs, without waiting for the rest.

    On a machine so loaded that a keyword gets the CPU back only after its limit, what it
    then finds may have arrived after the limit. Keywords that pass when nothing happens
    in time (`No Reply Within`, `Connection Should Stay Open`) give the server the benefit
    of that doubt, so a correct server never fails because the test machine was slow.

    = Receive buffer =

    On TCP every received byte goes into a buffer. A keyword takes only the bytes it
    needs (a line, a count, an expected reply), and the rest stays buffered for the next
    keyword, also when the keyword fails. So nothing received is lost, and two replies
    that arrived together are checked one after the other.

    The buffer holds at most 1 MiB (``buffer_limit`` at import). A peer that floods beyond
    it makes the waiting keyword fail instead of exhausting memory.

    = Encodings =

    Text is encoded and decoded with the connection's encoding, ``UTF-8`` unless set at
    import or at open, for example ``GBK`` or ``latin-1``. `Send Bytes` and
    `Reply Should Be Bytes` work with raw bytes, and the receive keywords return bytes
    with ``as_bytes=True``.

    = Transcript =

    Every open, send, receive and close is one line in log.html: the time since the test
    began (the same clock for every connection, so the lines of interleaved connections
    read in order), the connection (alias or index), the direction (``\u2192`` sent,
    ``\u2190`` received), the byte count and the data. Text is quoted with whitespace and
    control characters escaped (``'HELLO\\n'``); data that does not decode is shown as
    hex. Each received piece is a line of its own, so the log also shows how the peer
    segmented its replies. A TLS connection's open names its version and cipher.
    | +0.000s #1 opened tcp 127.0.0.1:40112 \u2192 127.0.0.1:50007
    | +0.001s #1 \u2192 5 B 'hello'
    | +0.002s #1 \u2190 11 B 'Echo=>hello'
    | +0.004s #1 closed

    Each keyword writes its own lines, so expanding `Send` in log.html shows what it sent.
    In a test's 101st line and beyond (a long loop), lines are written in blocks of 100
    instead, because a message in log.html can cost as much as a keyword call.

    Each test that opened a connection also gets a sequence chart, an inline SVG that
    needs no tool to view: a lifeline per connection and one per server, an arrow per
    send, receive, open, half-close, close and reset, labelled with the byte count and
    the data, and the test-relative time of each row. A failing keyword writes it just
    before its failure, with the failure in red; otherwise `Close All Connections` in the
    test teardown writes it. A test longer than 120 steps shows its first and last 60,
    and says how many are left out; the lines keep everything. A test that leaves its
    connections open without a teardown gets its chart, marked, at the start of the
    next test.

    = Failures =

    Failure messages name what was expected, what arrived and how long the keyword
    waited, for example:
    | Expected 'HELLO' but received 'HELLO\\n' (6 bytes) within 5s
    | Expected 'bye' but received nothing before the peer closed the connection (after 8ms)
    | Connection refused by 127.0.0.1:12000

    = Servers =

    `Start Server` runs the server under test in its own process group, with its output
    in a file next to log.html, and waits until the operating system reports the port as
    bound by it. It never connects to check, so servers that accept a single client are
    tested fairly. `Stop Server` stops it and every process it started, and logs the
    end of its output. Servers a suite leaves running are stopped when the suite ends
    (at the latest when Robot exits), even without a teardown.
    Starting servers needs Linux (``/proc``).

    = Testing clients =

    When the program under test is a client, the library plays the server.
    `Listen On TCP Port` listens (port 0 takes a free one and returns it), and
    `Accept Connection` takes the client's connection, which is then an ordinary
    connection: `Reply Should Be` checks what the client sent, `Send` answers it,
    `Connection Should Be Closed` checks that it hung up. `Listen On UDP Port` binds an
    endpoint that answers whoever sent the last datagram.

    `Start Client` runs the client under test like `Start Server` runs a server (own
    process group, output next to log.html, the grader's sandbox), with text or lines
    on its stdin, and stdout and stderr kept apart. `Client Output Should Contain`,
    `Client Output Should Be`, `Client Output Should Match` and
    `Client Exit Code Should Be` check how it behaved; `Stop All Clients` goes in
    teardowns.
    | ${port} = | Listen On TCP Port |
    | Start Client | python3 client.py --port ${port} | hello |
    | Accept Connection |
    | Reply Should Be | hello |
    | Send | Echo=>hello |
    | Client Output Should Contain | Echo=>hello |
    | Client Exit Code Should Be | 0 |

    = Scope =

    The library scope is ``SUITE``: each suite gets its own connections and servers, and
    whatever a suite leaves open is closed when it ends.
    """

    ROBOT_LIBRARY_SCOPE = "SUITE"
    ROBOT_LIBRARY_VERSION = __version__
    ROBOT_LIBRARY_DOC_FORMAT = "ROBOT"

    def __init__(
        self,
        timeout: timedelta | str = "5s",
        encoding: str = "UTF-8",
        buffer_limit: int = DEFAULT_BUFFER_LIMIT,
    ) -> None:
        """Set the defaults for every connection this library opens.

        - ``timeout``: how long waiting keywords wait unless told otherwise.
        - ``encoding``: how text is encoded and decoded.
        - ``buffer_limit``: the most bytes one TCP connection buffers.
        """
        self._timeout = to_seconds(timeout)
        self._encoding = _checked_encoding(encoding)
        self._buffer_limit = buffer_limit
        self._connections: ConnectionCache[Connection] = ConnectionCache("No open connection.")
        self._servers: ConnectionCache[ManagedProcess] = ConnectionCache("No server started.")
        self._transcript = Transcript()
        # Per server token: the thread that records its end, and the port it listens on.
        self._watchers: dict[str, tuple[threading.Thread, int, str]] = {}
        # Runs when Robot drops this suite's instance, or at exit: no server outlives its
        # suite by more than that, even without a teardown. (A library listener would do
        # it too, but costs every keyword call in the suite about 60 microseconds.)
        self._close = weakref.finalize(
            self, _clean_up, self._connections, self._servers, self._transcript
        )

    # --- connections ---------------------------------------------------------------------

    @keyword("Open TCP Connection")
    def open_tcp_connection(
        self,
        host: str,
        port: int | None = None,
        alias: str | None = None,
        timeout: timedelta | None = None,
        encoding: str | None = None,
        connect_timeout: timedelta | None = None,
        *,
        tls: bool = False,
        ca_file: str | None = None,
        verify: bool = True,
        server_hostname: str | None = None,
        client_cert: str | None = None,
        client_key: str | None = None,
    ) -> int:
        """Connect to a TCP server and return the new connection's index.

        ``host`` is a name, an IPv4 or IPv6 address, or ``unix:/path`` for a Unix stream
        socket (then give no ``port``). ``timeout`` and ``encoding`` become the
        connection's defaults. ``connect_timeout`` bounds the connect itself, and the TLS
        handshake, and defaults to ``timeout``. Fails with ``Connection refused by
        host:port`` when nobody listens.

        ``tls=True`` runs the connection over TLS (1.2 or newer). The server's certificate
        must be issued for ``host`` (or ``server_hostname``, which is also sent as SNI) by
        a CA the system trusts, or by one in ``ca_file`` (PEM). ``client_cert`` (PEM, with
        the key in it or in ``client_key``) is presented to servers that ask for one.
        ``verify=False`` accepts any certificate for any name: the transcript says so on
        the open. A failed handshake says why: a certificate that is not trusted, a name
        it is not valid for, or a peer that does not speak TLS. The transcript and the
        chart show the TLS version and cipher. These options are named only.

        | ${index} = | Open TCP Connection | 127.0.0.1 | 50007 |
        | Open TCP Connection | ::1 | 8888 | alias=second | timeout=2s |
        | Open TCP Connection | unix:/tmp/echo.sock |
        | Open TCP Connection | localhost | 8443 | tls=True | ca_file=${CURDIR}/ca.pem |
        | Open TCP Connection | 127.0.0.1 | 8443 | tls=True | server_hostname=echo.test |
        | Open TCP Connection | localhost | 8443 | tls=True | client_cert=me.pem |

        See also `Open UDP Connection`, `Switch Connection` and `Close All Connections`.
        """
        wait = self._timeout if timeout is None else to_seconds(timeout)
        limit = wait if connect_timeout is None else to_seconds(connect_timeout)
        options = self._connection_options(wait, encoding, alias)
        tls_options = _tls_options(tls, ca_file, verify, server_hostname, client_cert, client_key)
        try:
            connection = open_stream(
                host,
                port,
                connect_timeout=limit,
                tls=tls_options,
                buffer_limit=self._buffer_limit,
                **options,
            )
        except TransportError as error:
            self._fail(str(error), _Attempt(alias, host, port))
        return self._register(connection, alias)

    @keyword("Open UDP Connection")
    def open_udp_connection(
        self,
        host: str,
        port: int,
        alias: str | None = None,
        timeout: timedelta | None = None,
        encoding: str | None = None,
    ) -> int:
        """Open a UDP endpoint connected to ``host:port`` and return its index.

        `Send` then sends one datagram to that address, and the receive keywords take
        one datagram each, only from that address.

        | Open UDP Connection | 127.0.0.1 | 12000 | alias=upper |
        | Open UDP Connection | 127.0.0.1 | 8080 | encoding=GBK | timeout=1s |

        See also `Open TCP Connection`.
        """
        wait = self._timeout if timeout is None else to_seconds(timeout)
        try:
            connection = open_datagram(
                host, port, **self._connection_options(wait, encoding, alias)
            )
        except TransportError as error:
            self._fail(str(error), _Attempt(alias, host, port))
        return self._register(connection, alias)

    def _connection_options(self, timeout: float, encoding: str | None, alias: str | None) -> dict:
        return {
            "timeout": timeout,
            "encoding": self._encoding if encoding is None else _checked_encoding(encoding),
            "observer": self._transcript.traffic,
            "label": alias or "",
        }

    def _register(self, connection: Connection, alias: str | None) -> int:
        index = self._connections.register(connection, alias)
        connection.label = alias or f"#{index}"
        opened = f"opened {connection.transport} {connection.local} \u2192 {connection.peer}"
        if connection.tls:
            opened += f" over {connection.tls}"
        chart_label = f"connect, {connection.tls}" if connection.tls else ""
        self._transcript.record(connection, "open", opened, chart_label)
        self._transcript.settle()
        return index

    def switch_connection(self, index_or_alias: str) -> int | None:
        """Make another connection current and return the index of the previous one.

        | ${first} = | Open TCP Connection | 127.0.0.1 | 8888 |
        | Open TCP Connection | 127.0.0.1 | 8888 | alias=second |
        | ${previous} = | Switch Connection | ${first} |
        | Switch Connection | second |

        See also `Close Connection`.
        """
        previous = self._connections.current_index
        try:
            self._connections.switch(index_or_alias)
        except RuntimeError as error:
            self._fail(str(error))
        return previous

    def close_connection(self) -> None:
        """Close the current connection; no connection is current afterwards.

        | Close Connection |

        See also `Close All Connections`.
        """
        if self._connections:
            connection = self._connections.current
            connection.close()
            self._transcript.record(connection, "close", "closed")
            self._transcript.settle()
            self._connections.current_index = None

    def reset_connection(self) -> None:
        """Abort the current TCP connection with a reset (RST) instead of a normal close.

        This is what a crashing client or a pulled cable looks like to the server. No
        connection is current afterwards.

        | Send | half a mess |
        | Reset Connection |

        See also `Close Connection`.
        """
        connection = self._stream()
        connection.reset()
        self._transcript.record(connection, "reset", "reset (RST sent)")
        self._transcript.settle()
        self._connections.current_index = None

    def half_close_connection(self) -> None:
        """Tell the peer that this side has finished sending; TCP only.

        Shuts down the sending side (``shutdown(SHUT_WR)``, a FIN), as a client does when
        it reaches the end of its input. The connection stays current and open for
        receiving, so the peer's last replies and its own close can still be checked.
        `Send` fails afterwards.

        | Send | last message |
        | Half Close Connection |
        | Reply Should Be | Echo=>last message |
        | Connection Should Be Closed |

        See also `Close Connection` and `Connection Should Be Closed`.
        """
        connection = self._stream()
        try:
            connection.half_close()
        except TransportError as error:
            self._fail(str(error), connection)
        self._transcript.record(connection, "half-close", "half-closed (FIN sent)")
        self._transcript.settle()

    def close_all_connections(self) -> None:
        """Close every connection this suite opened. Use it in teardowns.

        Indices start again from 1 after this.

        | [Teardown] | Close All Connections |

        See also `Close Connection`.
        """
        for connection in self._connections:
            if not connection.closed:
                self._transcript.record(connection, "close", "closed")
        self._connections.close_all()
        self._close_listeners()
        self._transcript.finish()

    def set_connection_timeout(self, timeout: timedelta) -> str:
        """Set the current connection's default timeout; return the old one.

        | ${old} = | Set Connection Timeout | 500 ms |
        | Set Connection Timeout | ${old} |
        """
        connection = self._current()
        old = seconds_text(connection.timeout)
        connection.timeout = to_seconds(timeout)
        return old

    def get_connection_age(self) -> float:
        """Return how many seconds ago the current connection was opened.

        Useful for deadlines measured from the connect, such as a server's idle timeout.
        A TCP connection's age counts from the moment its connect began, so the server's
        own timer for it cannot have started earlier.

        | ${age} = | Get Connection Age |
        | Connection Should Stay Open | ${4 - ${age}} |
        """
        return self._current().age

    # --- sending -------------------------------------------------------------------------

    def send(self, text: str) -> None:
        """Send ``text`` encoded with the connection's encoding; on UDP, as one datagram.

        Nothing is added: send ``\\n`` yourself, or use `Send Line`.

        | Send | hello |
        | Send | straße\\n |

        See also `Send Bytes` and `Reply Should Be`.
        """
        connection = self._current()
        self._send(connection, _encode(text, connection.encoding))

    def send_line(self, text: str) -> None:
        """Send ``text`` followed by a newline (``\\n``).

        | Send Line | GET / |

        See also `Send` and `Receive Line`.
        """
        self.send(text + "\n")

    def send_bytes(self, data: bytes | str) -> None:
        """Send raw bytes, given as ``bytes`` or as a hex string such as ``ff 00 41``.

        | Send Bytes | ff fe 00 41 |
        | Send Bytes | ${bytes} |

        See also `Send` and `Reply Should Be Bytes`.
        """
        payload = parse_hex(data) if isinstance(data, str) else bytes(data)
        self._send(self._current(), payload)

    def _send(self, connection: Connection, payload: bytes) -> None:
        try:
            connection.send(payload)
        except TransportError as error:
            self._fail(str(error), connection)
        self._transcript.settle()

    # --- receiving -----------------------------------------------------------------------

    def receive(self, timeout: timedelta | None = None, as_bytes: bool = False) -> str | bytes:
        """Return whatever arrives next: on TCP what one read gets (or what is already
        buffered), on UDP one datagram.

        On TCP the amount is whatever the network delivered, so prefer `Receive Until`,
        `Receive Line`, `Receive Exactly` or `Reply Should Be` for checks.

        | ${data} = | Receive |
        | ${data} = | Receive | timeout=500 ms | as_bytes=True |
        """
        return self._receive(self._current(), AnyData(), timeout, as_bytes)

    def receive_until(
        self, marker: str, timeout: timedelta | None = None, as_bytes: bool = False
    ) -> str | bytes:
        """Receive up to and including ``marker`` and return it; TCP only.

        Bytes after the marker stay buffered.

        | ${prompt} = | Receive Until | > |
        | ${header} = | Receive Until | \\r\\n\\r\\n | timeout=2s |

        See also `Receive Line`.
        """
        connection = self._stream()
        until = UpTo(_encode(marker, connection.encoding), marker)
        return self._receive(connection, until, timeout, as_bytes)

    def receive_line(self, timeout: timedelta | None = None, as_bytes: bool = False) -> str | bytes:
        """Receive one line and return it without its ``\\n`` or ``\\r\\n``; TCP only.

        | ${line} = | Receive Line |
        | Should Be Equal | ${line} | Welcome to the server. Type something and hit enter |
        """
        line = self.receive_until("\n", timeout, as_bytes)
        ending = b"\r\n" if as_bytes else "\r\n"
        return line[:-2] if line.endswith(ending) else line[:-1]

    def receive_exactly(
        self, count: int, timeout: timedelta | None = None, as_bytes: bool = False
    ) -> str | bytes:
        """Receive exactly ``count`` bytes and return them; TCP only.

        | ${head} = | Receive Exactly | 6 |
        | ${raw} = | Receive Exactly | 4 | as_bytes=True |
        """
        return self._receive(self._stream(), Count(count), timeout, as_bytes)

    def _receive(
        self,
        connection: Connection,
        expectation: Expectation,
        timeout: timedelta | None,
        as_bytes: bool,
    ) -> str | bytes:
        outcome = self._await(connection, expectation, timeout)
        result = outcome.data if as_bytes else self._decoded(connection, outcome.data)
        connection.consume(outcome)
        return result

    # --- checking replies ----------------------------------------------------------------

    def reply_should_be(self, expected: str, timeout: timedelta | None = None) -> None:
        """Check that the next reply is exactly ``expected``.

        On TCP this gathers bytes until it holds as many as ``expected`` encodes to, and
        fails at once when a byte differs, when the peer closes, or at the timeout. It
        does not depend on how the reply was segmented, and bytes beyond the reply stay
        buffered for the next keyword. On UDP it takes the next datagram, which must be
        exactly ``expected``.

        | Send | hello |
        | Reply Should Be | Echo=>hello |
        | Reply Should Be | welcome to server! | timeout=1s |

        See also `Reply Should Match` and `Reply Should Be Bytes`.
        """
        connection = self._current()
        self._check(connection, _encode(expected, connection.encoding), timeout)

    def reply_should_be_bytes(
        self, expected: bytes | str, timeout: timedelta | None = None
    ) -> None:
        """Like `Reply Should Be`, for raw bytes or a hex string such as ``ff 00 41``.

        | Reply Should Be Bytes | b7 fe ce f1 |
        | Reply Should Be Bytes | ${expected bytes} |
        """
        payload = parse_hex(expected) if isinstance(expected, str) else bytes(expected)
        self._check(self._current(), payload, timeout)

    def _check(self, connection: Connection, expected: bytes, timeout: timedelta | None) -> None:
        outcome = self._await(connection, Exactly(expected, connection.encoding), timeout)
        connection.consume(outcome)

    def reply_should_match(self, regexp: str, timeout: timedelta | None = None) -> str | list[str]:
        """Check that the next reply matches ``regexp`` from its start, and return it.

        On TCP this gathers bytes until the received text matches the pattern from its
        beginning (Python ``re.match``), then consumes only the matched part. Write
        patterns that cannot match a partial reply: ``Echo=>.*`` would match the first
        piece that arrives, ``Echo=>hello`` or ``.{24}hello`` would not. On UDP the
        next datagram must match the whole pattern.

        Returns the matched text; if the pattern has groups, a list of the match and
        its groups, like BuiltIn's `Should Match Regexp`.

        | ${reply} = | Reply Should Match | Echo=>\\\\d+ apples |
        | ${all} | ${stamp} = | Reply Should Match | (.{24})hello | timeout=2s |

        See also `Reply Should Be`.
        """
        connection = self._current()
        pattern = Pattern(regexp, connection.encoding)
        connection.consume(self._await(connection, pattern, timeout))
        return _match_result(pattern.found)

    def no_reply_within(self, duration: timedelta) -> None:
        """Check that no data arrives within the given time.

        Data that was already buffered counts as a reply. A peer closing the connection
        is not a reply: use `Connection Should Stay Open` to check that too. Received
        data stays buffered.

        | Send | ignored |
        | No Reply Within | 500 ms |
        """
        self._await(self._current(), NoData(), duration)

    def connection_should_be_closed(self, within: timedelta | None = None) -> None:
        """Check that the peer closes the connection (FIN or reset) within the time; TCP only.

        Fails if data arrives instead, showing it, or if the connection is still open
        at the end. Data stays buffered.

        | Send | 1 |
        | Reply Should Be | welcome to server! |
        | Connection Should Be Closed | within=1s |

        See also `Connection Should Stay Open`.
        """
        self._await(self._stream(), PeerClose(), within)

    def connection_should_stay_open(self, duration: timedelta) -> None:
        """Check that the peer keeps the connection open for the given time; TCP only.

        Data arriving meanwhile is fine and stays buffered. Fails as soon as the peer
        closes or resets the connection.

        | Open TCP Connection | 127.0.0.1 | 8001 |
        | Connection Should Stay Open | 4s |

        See also `Connection Should Be Closed` and `No Reply Within`.
        """
        wait = to_seconds(duration)
        self._await(self._stream(), StaysOpen(wait), wait)

    # --- servers -------------------------------------------------------------------------

    def start_server(
        self,
        command: str | list[str],
        port: int,
        host: str = "127.0.0.1",
        protocol: str = "tcp",
        ready_timeout: timedelta | str = "10s",
        alias: str | None = None,
        cwd: str | None = None,
        env: dict[str, str] | None = None,
    ) -> int:
        """Start the server under test and wait until it listens; return its port.

        ``command`` is split like a shell would split it, but no shell runs: use
        ``sh -c '...'`` for pipes or ``&&``; a list is used as the arguments as they are.
        It runs in ``cwd`` (default: the current directory) with ``env`` added to the
        environment, in its own process group, with its output in a file next to log.html.
        Under the grader, the command runs in a sandbox, in a copy of the submission.

        Ready means the operating system shows a socket of the server (or of a process it
        started) bound to ``port`` for ``protocol`` (``tcp`` listening, ``udp`` bound) on
        an address that ``host`` reaches. With ``port`` 0, any port will do and its number
        is returned. Nothing connects to check, so single-client servers lose nothing.

        Fails fast with ``server did not start: <reason>`` and the end of the server's
        output when the port is taken by another process, when the server exits, or when
        it does not listen within ``ready_timeout``. The reason names a wrong port or
        address when the server listens elsewhere.

        Inside a run, what becomes of the server is also written as facts to
        ``socketkit-facts.jsonl`` next to output.xml: it started (command, output file,
        address) or did not (and why), it exited on its own (exit code, time), it was
        stopped. Programs such as the grader read these, never the messages.

        | Start Server | python3 server.py | 12000 | protocol=udp |
        | ${port} = | Start Server | python3 -m services echo --port 0 | 0 | alias=echo |
        | Start Server | ./server --port 8001 | 8001 | cwd=${SUBMISSION} | ready_timeout=5s |

        See also `Stop Server` and `Server Should Be Running`.
        """
        protocol = protocol.lower()
        if protocol not in ("tcp", "udp"):
            raise ValueError(f"protocol must be tcp or udp, not {protocol!r}")
        args = split_command(command)  # reject an empty command before anything starts
        if port and any(bound.port == port for bound in bound_sockets(protocol)):
            reason = f"{protocol} port {port} is already in use by another process"
            self._record(facts.server_did_not_start, None, args, "", reason, None)
            self._fail(f"server did not start: {reason}")
        output = self._output_file(alias)
        environment = {**os.environ, **env} if env else None
        launcher = launcher_from()
        try:
            server = ManagedProcess(command, output, cwd=cwd, env=environment, launcher=launcher)
        except ProcessError as error:
            self._record(facts.server_did_not_start, None, args, output.name, str(error), None)
            self._fail(f"server did not start: {error}")
        where = "in its sandbox" if launcher else f"in {Path(cwd or '.').resolve()}"
        logger.info(
            f"Started {shlex.join(server.args)} (pid {server.pid}) {where}; "
            f"output goes to {output.name}."
        )
        try:
            bound = server.wait_until_bound(port, protocol, host, to_seconds(ready_timeout))
        except ProcessError as error:
            code = server.popen.poll()  # None: it still ran, and is stopped here
            server.stop()
            self._record(
                facts.server_did_not_start, server.token, server.args, output.name, str(error), code
            )
            tail = server.output_tail()
            shown_tail = f"\nIts output ends with:\n{tail}" if tail else "\nIt printed nothing."
            self._fail(f"server did not start: {error}{shown_tail}")
        logger.info(
            f"Server is listening on {bound} after "
            f"{seconds_text(time.monotonic() - server.started_at)}."
        )
        self._servers.register(server, alias)
        self._record(facts.server_started, server.token, server.args, output.name, str(bound))
        self._watch(server, bound.port, protocol)
        return bound.port

    def _record(self, fact, server: str | None, *fields: object) -> None:
        """Append a fact about a server (``None``: one that never ran) to the run's facts."""
        run = _run_context()
        if run:
            directory, suite = run
            fact(directory, server or uuid.uuid4().hex, suite, *fields)

    def _watch(self, server: ManagedProcess, port: int, protocol: str) -> None:
        """Record the server's end, when nobody asked for it, as it happens."""
        run = _run_context()
        if not run:
            return
        directory, suite = run

        def report(code: int) -> None:
            with contextlib.suppress(OSError):
                facts.server_exited(directory, server.token, suite, code)

        watcher = threading.Thread(
            target=_report_unexpected_exit, args=(server, report), daemon=True
        )
        watcher.start()
        self._watchers[server.token] = (watcher, port, protocol)

    def _let_it_end(self, server: ManagedProcess) -> None:
        """A server that no longer listens is ending on its own (it crashed, and is still
        writing its traceback or being torn down): its end is recorded as its own, before
        a stop could be taken for the cause."""
        watcher, port, protocol = self._watchers.pop(server.token, (None, 0, ""))
        if watcher and not server.bound(port, protocol):
            watcher.join(ENDING_SECONDS)

    def _output_file(self, alias: str | None) -> Path:
        try:
            directory = Path(BuiltIn().get_variable_value("${OUTPUT DIR}"))
        except RobotNotRunningError:
            directory = Path(tempfile.mkdtemp(prefix="socketlibrary-"))
        name = re.sub(r"[^\w.-]+", "_", alias or "server")
        return Path(tempfile.mkstemp(prefix=f"{name}-", suffix=".log", dir=directory)[1])

    def stop_server(self, alias: str | None = None, grace: timedelta | str = "2s") -> int:
        """Stop a started server and every process it started; return its exit code.

        Sends TERM to the server's process group and to every process it started, then
        KILL after ``grace`` to whatever is left. Logs the end of the server's output.
        Stops the most recently started server unless ``alias`` (or index) names one.

        | Stop Server |
        | ${code} = | Stop Server | echo | grace=5s |

        See also `Start Server` and `Stop All Servers`.
        """
        server = self._server(alias)
        self._transcript.finish()  # the conversation comes before the server's end
        self._let_it_end(server)
        code = server.stop(to_seconds(grace))
        self._record(facts.server_stopped, server.token, code)
        tail = server.output_tail()
        logger.info(
            f"Server {shlex.join(server.args)} stopped with exit code {code}. "
            + (f"Its output ends with:\n{tail}" if tail else "It printed nothing.")
        )
        return code

    def stop_all_servers(self, grace: timedelta | str = "2s") -> None:
        """Stop every server this suite started. Use it in suite teardowns.

        | Suite Teardown | Stop All Servers |
        """
        self._transcript.finish()
        for server in self._servers:
            if server.alive():
                self._servers.switch(server)
                self.stop_server(grace=grace)
        self._servers.empty_cache()

    def server_should_be_running(self, alias: str | None = None) -> None:
        """Fail with the exit code and the end of the output if the server has gone.

        A server that daemonized (its first process exited, a child serves) is running
        as long as any process it started is.

        | Server Should Be Running |
        | Server Should Be Running | echo |
        """
        server = self._server(alias)
        if not server.alive():
            tail = server.output_tail()
            raise SocketFailure(
                f"Server {shlex.join(server.args)} {describe_exit(server.popen.wait())}."
                + (f" Its output ends with:\n{tail}" if tail else " It printed nothing.")
            )

    def get_server_output(self, alias: str | None = None, lines: int = 20) -> str:
        """Return the last ``lines`` lines the server wrote to stdout and stderr.

        | ${output} = | Get Server Output |
        | Should Contain | ${output} | LISTENING |
        """
        return self._server(alias).output_tail(max_lines=lines)

    def _server(self, alias: str | None) -> ManagedProcess:
        try:
            return self._servers.get_connection(alias)
        except RuntimeError as error:
            self._fail(str(error))

    # --- shared machinery ----------------------------------------------------------------

    def _current(self) -> Connection:
        try:
            connection = self._connections.get_connection()
        except RuntimeError as error:
            self._fail(str(error))
        if connection.closed:
            raise SocketFailure(f"Connection {connection.label} is closed.")
        return connection

    def _stream(self) -> StreamConnection:
        connection = self._current()
        if connection.transport != "tcp":
            raise SocketFailure(
                f"Connection {connection.label} is UDP; this keyword needs a TCP connection."
            )
        return connection

    def _await(
        self, connection: Connection, expectation: Expectation, timeout: timedelta | float | None
    ) -> Outcome:
        """Wait on the connection; fail unless the expectation passes the outcome."""
        wait = connection.timeout if timeout is None else to_seconds(timeout)
        outcome = connection.wait(expectation, wait)
        if not expectation.passed(outcome):
            message = failure(expectation, outcome, connection.encoding)
            self._fail(message, connection, timed_out=outcome.kind is Kind.TIMED_OUT)
        self._transcript.settle()
        return outcome

    def _decoded(self, connection: Connection, data: bytes) -> str:
        try:
            return data.decode(connection.encoding)
        except UnicodeDecodeError:
            self._fail(
                f"Received {described(data, connection.encoding)}, which is not valid "
                f"{connection.encoding}; use as_bytes=True to get the bytes"
            )

    def _fail(
        self, message: str, where: Connection | _Attempt | None = None, timed_out: bool = False
    ) -> NoReturn:
        """Fail; name a started server that has died, the likely cause of the failure.

        The transcript so far and its chart are written first, with the failure marked on
        the connection ``where`` it happened."""
        died = [
            server
            for server in self._servers
            if not server.stopped and server.exit_code is not None
        ]
        if where is not None:
            self._transcript.note_failure(where, message, timed_out)
        self._transcript.finish()
        notes = "".join(
            f"\nThe server {shlex.join(server.args)} {describe_exit(server.popen.wait())}."
            for server in died
        )
        raise SocketFailure(message + notes)


def _clean_up(
    connections: ConnectionCache, servers: ConnectionCache, transcript: Transcript
) -> None:
    transcript.finish()
    connections.close_all()
    for server in servers:
        if server.alive():
            server.stop()
    servers.empty_cache()


def _tls_options(
    tls: bool,
    ca_file: str | None,
    verify: bool,
    server_hostname: str | None,
    client_cert: str | None,
    client_key: str | None,
) -> TlsOptions | None:
    """The TLS options, or None without ``tls``; TLS options without it are an error, not
    a plain connection."""
    given = {
        "ca_file": ca_file,
        "verify": None if verify else False,
        "server_hostname": server_hostname,
        "client_cert": client_cert,
        "client_key": client_key,
    }
    if not tls:
        named = [name for name, value in given.items() if value is not None]
        if named:
            verb = "needs" if len(named) == 1 else "need"
            raise ValueError(f"{' and '.join(named)} {verb} tls=True")
        return None
    if client_key and not client_cert:
        raise ValueError("client_key needs client_cert")
    return TlsOptions(ca_file, verify, server_hostname, client_cert, client_key)


class _Attempt:
    """A connection that failed to open, as the transcript's chart names it."""

    role = "client"
    local = "-"

    def __init__(self, alias: str | None, host: str, port: int | None) -> None:
        self.label = alias or "(new)"
        shown_host = f"[{host}]" if ":" in host and not host.startswith("unix:") else host
        self.peer = host if port is None else f"{shown_host}:{port}"


def _run_context() -> tuple[Path, str] | None:
    """Where this run's facts go, and the full name of the running suite; None outside a run."""
    try:
        builtin = BuiltIn()
        return (
            Path(builtin.get_variable_value("${OUTPUT DIR}")),
            builtin.get_variable_value("${SUITE NAME}"),
        )
    except RobotNotRunningError:
        return None


def _report_unexpected_exit(server: ManagedProcess, report) -> None:
    """Wait until the server and everything it started have ended; ``report(code)``
    unless a stop was asked for. Runs in a thread of its own; never reaps the process."""
    code = None
    try:
        pidfd = os.pidfd_open(server.pid)
    except ProcessLookupError:  # already reaped
        pidfd = None
    if pidfd is not None:
        try:
            select.select([pidfd], [], [])
            status = os.waitid(os.P_PIDFD, pidfd, os.WEXITED | os.WNOWAIT)
            exited = status.si_code == os.CLD_EXITED
            code = status.si_status if exited else -status.si_status
        except ChildProcessError:  # reaped meanwhile, by a poll
            pass
        finally:
            os.close(pidfd)
    if code is None:
        code = server.popen.wait()
    while members := server.members():  # it daemonized: it runs while what it started does
        wait_for_exit(set(members), 1.0)
    if not server.stopped:
        report(code)


def _checked_encoding(name: str) -> str:
    try:
        codecs.lookup(name)
    except LookupError:
        raise ValueError(f"unknown encoding {name!r}") from None
    return name


def _encode(text: str, encoding: str) -> bytes:
    try:
        return text.encode(encoding)
    except UnicodeEncodeError as error:
        raise ValueError(
            f"cannot encode {quote(text)} in {encoding}: {error.reason} "
            f"at {quote(text[error.start : error.end])}"
        ) from None


def _match_result(match: re.Match[str]) -> str | list[str]:
    return [match.group(), *match.groups()] if match.groups() else match.group()
