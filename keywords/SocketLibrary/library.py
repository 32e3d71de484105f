"""The SocketLibrary keyword class: thin keywords over the transport and process modules."""

from __future__ import annotations

import codecs
import contextlib
import difflib
import inspect
import os
import re
import select
import tempfile
import threading
import time
import uuid
import weakref
from datetime import timedelta
from pathlib import Path
from typing import Any, NoReturn

from assertionengine import AssertionOperator, verify_assertion
from assertionengine.assertion_engine import handlers
from robot.api import logger
from robot.api.deco import keyword
from robot.libraries.BuiltIn import BuiltIn, RobotNotRunningError
from robot.utils import ConnectionCache, printable_name

from . import __version__, facts
from .clients import ClientKeywords
from .display import (
    described,
    failure,
    hex_bytes,
    parse_hex,
    quote,
    seconds_text,
    shown_command,
    to_seconds,
)
from .expectations import (
    AnyData,
    Contains,
    Count,
    Exactly,
    Expectation,
    Line,
    NoData,
    Pattern,
    PeerClose,
    Search,
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

__all__ = ["OptionError", "SocketFailure", "SocketLibrary"]

# Keyword groups, shown and filterable in libdoc.
CONNECTION, SEND, RECEIVE, CHECK, SERVER = "Connection", "Send", "Receive", "Check", "Server"

NEWLINES = {"LF": "\n", "CRLF": "\r\n", "CR": "\r"}
# Operators whose expected value is a Python expression, not data.
_EVALUATE = (AssertionOperator["validate"], AssertionOperator["then"])
# How long a server that has stopped listening may take to end on its own.
ENDING_SECONDS = 2.0


class SocketFailure(AssertionError):
    """A keyword's check failed; Robot shows only the message."""

    ROBOT_SUPPRESS_NAME = True


class OptionError(TypeError):
    """A keyword was called with an option it does not have; Robot shows only the message."""

    ROBOT_SUPPRESS_NAME = True


def _operator(method: Any, value: str | None, unknown: tuple) -> AssertionOperator | None:
    """A getter's assertion operator (``==``, ``contains``, ``matches``...), or None.

    Robot hands a mistyped option (``timout=2s``) to the first free positional, which is
    the operator: that is an unknown option of the getter. The operator is parsed here,
    not by a ``ROBOT_LIBRARY_CONVERTERS`` converter, which Robot builds anew for every
    keyword call of the library (about 0.1 ms each)."""
    if unknown:
        _reject(method, unknown)
    if value is None:
        return None
    for name in (value, value.lower()):
        if name in AssertionOperator.__members__:
            return AssertionOperator[name]
    if _looks_named(value):
        _reject(method, (value,))
    operators = ", ".join(dict.fromkeys(member.value for member in AssertionOperator))
    raise ValueError(f"{quote(value)} is not an assertion operator; they are {operators}")


class SocketLibrary(ListeningKeywords, ClientKeywords):
    """Keywords for checking TCP and UDP conversations, byte-exact and bounded in time.

    SocketLibrary opens client connections to a server, sends text or bytes, and checks
    the replies. It treats TCP as the byte stream it is: a reply may arrive in several
    pieces or together with the next one, and the result never depends on that. Every
    keyword that waits has a time limit, and every failure says what was expected, what
    arrived and how long it waited. It can also start and stop the server under test.

    Import it by name, with optional defaults (see `Importing`):
    | Library | SocketLibrary |
    | Library | SocketLibrary | timeout=2s | encoding=GBK | newline=CRLF |

    Keywords are tagged by what they do: ``Connection``, ``Send``, ``Receive``,
    ``Check`` and ``Server``.

    %TOC%

    = Options =

    A keyword's main arguments are positional (a host and a port, the text to send,
    the expected reply); everything after them is a named option such as
    ``timeout=2s``, ``alias=first`` or ``as_bytes=True``. A ``name=value`` that is not
    one of the keyword's options fails the keyword with ``unknown option`` and the
    closest option's name, so a typo never passes silently:
    | Open TCP Connection | 127.0.0.1 | 50007 | timout=2s |
    fails with ``Open TCP Connection got unknown option 'timout' (did you mean
    'timeout'?)``, where it would otherwise open a connection whose alias is
    ``timout=2s``.

    Data that contains ``=`` is data: ``Send    key=value`` sends ``key=value``. Only
    when the text before ``=`` is the name of one of the keyword's own options
    (``Send Line    newline=x``) does Robot take it as that option; escape it as
    ``newline\\=x`` to send it.

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

    = Lines =

    `Send Line` adds a newline and `Receive Line` reads up to one. The newline is
    ``LF`` (``\\n``) unless set to ``CRLF`` (``\\r\\n``) or ``CR`` at import, for
    one connection at open, or for one call with ``newline=``:
    | Library | SocketLibrary | newline=CRLF |
    | Open TCP Connection | 127.0.0.1 | 6379 | newline=CRLF |
    | Send Line | PING | newline=CRLF |
    With ``LF``, `Receive Line` also drops a ``\\r`` before the ``\\n``, so it reads
    either kind of line; with ``CRLF`` a lone ``\\n`` is part of the line.

    = Searching =

    `Reply Should Be` and `Reply Should Match` check the stream from where the last
    keyword left it. To skip ahead, `Reply Should Contain` waits for a text anywhere in
    what arrives, and `Receive Until Regexp` for a match of a regular expression (like
    the Telnet library's ``Read Until Regexp``). Both consume everything up to and
    including what they found; what follows stays buffered.

    = Assertions =

    The getters `Receive`, `Receive Line`, `Receive Until`, `Receive Exactly`,
    `Get Server Output`, `Get Client Output` and `Get Client Exit Code` take an optional
    assertion operator and expected value after their own arguments, in the style of
    the Browser library, and return the value:
    | Receive Line | == | VALUE v |
    | Receive Until | \\r\\n | contains | OK |
    | ${count} = | Receive Line | matches | COUNT (\\d+) |
    | Get Server Output | not contains | Traceback |
    The operators are those of robotframework-assertion-engine, which the Browser
    library uses too:
    | = Operator = | = Also written = | = Passes when the value ... = |
    | ``==`` | ``equal``, ``should be`` | equals the expected value |
    | ``!=`` | ``inequal``, ``should not be`` | differs from it |
    | ``*=`` | ``contains`` | contains it |
    | | ``not contains`` | does not contain it |
    | ``^=`` | ``starts``, ``should start with`` | starts with it |
    | ``$=`` | ``ends``, ``should end with`` | ends with it |
    | ``matches`` | | has a match of the regular expression; returns the groups if it has any |
    | ``validate`` | | makes the Python expression true, with the value as ``value`` |
    | ``then`` | ``evaluate`` | (no check) returns the expression's result instead |
    | ``<``, ``>``, ``<=``, ``>=`` | ``less than``, ``greater than`` | compares as strings |
    A failure shows the value with whitespace visible, for example ``Received line
    'VALUE x ' should be 'VALUE x'``.

    A getter checks what it received once, and has consumed it either way. To wait
    until the right reply arrives, failing early on a wrong one, use the checks:
    `Reply Should Be`, `Reply Should Match`, `Reply Should Contain` or `Exchange`.
    With ``as_bytes=True`` the expected value is bytes or a hex string (``ff 00 41``).

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
    waited: ``at once`` when a wrong reply decided it (as soon as the wrong byte
    arrived; the transcript shows when that was), how long it was allowed to wait when
    nothing came, and how long it took when the peer closed. For example:
    | Expected 'HELLO' but received 'HELLO\\n' (6 bytes) at once
    | Expected 'HELLO' but received nothing within 5s
    | Expected a line ending in '\\n' but received no complete line within 300ms
    | Expected 'bye' but received nothing before the peer closed the connection (after 8ms)
    | Connection refused by 127.0.0.1:12000
    | No connection named 'third'; the open connections are #1, second.

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
        *,
        timeout: timedelta | str = "5s",
        encoding: str = "UTF-8",
        buffer_limit: int = DEFAULT_BUFFER_LIMIT,
        newline: str = "LF",
        **unknown: str,
    ) -> None:
        """Set the defaults for every connection this library opens.

        - ``timeout``: how long waiting keywords wait unless told otherwise.
        - ``encoding``: how text is encoded and decoded.
        - ``buffer_limit``: the most bytes one TCP connection buffers.
        - ``newline``: what `Send Line` adds and `Receive Line` reads up to: ``LF``
          (the default), ``CRLF``, ``CR``, or the characters themselves.

        | Library | SocketLibrary | timeout=2s | newline=CRLF |
        """
        if unknown:
            _reject(self.__init__, named=unknown, name="Importing SocketLibrary")
        self._timeout = to_seconds(timeout)
        self._encoding = _checked_encoding(encoding)
        self._newline = _checked_newline(newline)
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

    @keyword("Open TCP Connection", tags=[CONNECTION])
    def open_tcp_connection(
        self,
        host: str,
        port: int | None = None,
        *,
        alias: str | None = None,
        timeout: timedelta | None = None,
        encoding: str | None = None,
        newline: str | None = None,
        connect_timeout: timedelta | None = None,
        tls: bool = False,
        ca_file: str | None = None,
        verify: bool = True,
        server_hostname: str | None = None,
        client_cert: str | None = None,
        client_key: str | None = None,
        **unknown: str,
    ) -> int:
        """Connect to a TCP server and return the new connection's index.

        ``host`` is a name, an IPv4 or IPv6 address, or ``unix:/path`` for a Unix stream
        socket (then give no ``port``). The options are named:

        - ``alias``: a name for `Switch Connection` and the transcript.
        - ``timeout``, ``encoding`` and ``newline``: the connection's defaults, instead
          of the library's (see `Importing`).
        - ``connect_timeout``: bounds the connect itself, and the TLS handshake;
          defaults to ``timeout``.
        - ``tls``, ``ca_file``, ``verify``, ``server_hostname``, ``client_cert`` and
          ``client_key``: TLS, below.

        Fails with ``Connection refused by host:port`` when nobody listens.

        ``tls=True`` runs the connection over TLS (1.2 or newer). The server's certificate
        must be issued for ``host`` (or ``server_hostname``, which is also sent as SNI) by
        a CA the system trusts, or by one in ``ca_file`` (PEM). ``client_cert`` (PEM, with
        the key in it or in ``client_key``) is presented to servers that ask for one.
        ``verify=False`` accepts any certificate for any name: the transcript says so on
        the open. A failed handshake says why: a certificate that is not trusted, a name
        it is not valid for, or a peer that does not speak TLS. The transcript and the
        chart show the TLS version and cipher.

        | ${index} = | Open TCP Connection | 127.0.0.1 | 50007 |
        | Open TCP Connection | ::1 | 8888 | alias=second | timeout=2s |
        | Open TCP Connection | 127.0.0.1 | 6379 | newline=CRLF |
        | Open TCP Connection | unix:/tmp/echo.sock |
        | Open TCP Connection | localhost | 8443 | tls=True | ca_file=${CURDIR}/ca.pem |
        | Open TCP Connection | 127.0.0.1 | 8443 | tls=True | server_hostname=echo.test |
        | Open TCP Connection | localhost | 8443 | tls=True | client_cert=me.pem |

        See also `Open UDP Connection`, `Switch Connection` and `Close All Connections`.
        """
        if unknown:
            _reject(self.open_tcp_connection, named=unknown)
        wait = self._timeout if timeout is None else to_seconds(timeout)
        limit = wait if connect_timeout is None else to_seconds(connect_timeout)
        options = self._connection_options(wait, encoding, newline, alias)
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

    @keyword("Open UDP Connection", tags=[CONNECTION])
    def open_udp_connection(
        self,
        host: str,
        port: int,
        *,
        alias: str | None = None,
        timeout: timedelta | None = None,
        encoding: str | None = None,
        newline: str | None = None,
        **unknown: str,
    ) -> int:
        """Open a UDP endpoint connected to ``host:port`` and return its index.

        `Send` then sends one datagram to that address, and the receive keywords take
        one datagram each, only from that address. The named options are those of
        `Open TCP Connection`, without ``connect_timeout`` and TLS.

        | Open UDP Connection | 127.0.0.1 | 12000 | alias=upper |
        | Open UDP Connection | 127.0.0.1 | 8080 | encoding=GBK | timeout=1s |

        See also `Open TCP Connection`.
        """
        if unknown:
            _reject(self.open_udp_connection, named=unknown)
        wait = self._timeout if timeout is None else to_seconds(timeout)
        try:
            connection = open_datagram(
                host, port, **self._connection_options(wait, encoding, newline, alias)
            )
        except TransportError as error:
            self._fail(str(error), _Attempt(alias, host, port))
        return self._register(connection, alias)

    def _connection_options(
        self, timeout: float, encoding: str | None, newline: str | None, alias: str | None
    ) -> dict:
        return {
            "timeout": timeout,
            "encoding": self._encoding if encoding is None else _checked_encoding(encoding),
            "newline": self._newline if newline is None else _checked_newline(newline),
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

    @keyword(tags=[CONNECTION])
    def switch_connection(self, index_or_alias: str) -> int | None:
        """Make another connection current and return the index of the previous one.

        Fails with ``No connection named …`` and the open connections' names when none
        has that index or alias.

        | ${first} = | Open TCP Connection | 127.0.0.1 | 8888 |
        | Open TCP Connection | 127.0.0.1 | 8888 | alias=second |
        | ${previous} = | Switch Connection | ${first} |
        | Switch Connection | second |

        See also `Close Connection`.
        """
        previous = self._connections.current_index
        try:
            self._connections.switch(index_or_alias)
        except RuntimeError:
            open_ones = [c.label for c in self._connections if not c.closed]
            self._fail(_not_found("connection", index_or_alias, open_ones, "open"))
        return previous

    @keyword(tags=[CONNECTION])
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

    @keyword(tags=[CONNECTION])
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

    @keyword(tags=[CONNECTION])
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

    @keyword(tags=[CONNECTION])
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

    @keyword(tags=[CONNECTION])
    def set_connection_timeout(self, timeout: timedelta) -> str:
        """Set the current connection's default timeout; return the old one.

        | ${old} = | Set Connection Timeout | 500 ms |
        | Set Connection Timeout | ${old} |
        """
        connection = self._current()
        old = seconds_text(connection.timeout)
        connection.timeout = to_seconds(timeout)
        return old

    @keyword(tags=[CONNECTION])
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

    @keyword(tags=[SEND])
    def send(self, text: str) -> None:
        """Send ``text`` encoded with the connection's encoding; on UDP, as one datagram.

        Nothing is added: send ``\\n`` yourself, or use `Send Line`.

        | Send | hello |
        | Send | straße\\n |

        See also `Send Bytes`, `Exchange` and `Reply Should Be`.
        """
        connection = self._current()
        self._send(connection, _encode(text, connection.encoding))

    @keyword(tags=[SEND])
    def send_line(self, text: str, *unknown: str, newline: str | None = None) -> None:
        """Send ``text`` followed by the connection's newline (``\\n`` unless set).

        ``newline`` (``LF``, ``CRLF``, ``CR`` or the characters) overrides it for this
        call; set it for the library at `Importing`, or per connection at open.

        | Send Line | GET / |
        | Send Line | PING | newline=CRLF |

        See also `Send` and `Receive Line`.
        """
        if unknown:
            _reject(self.send_line, unknown)
        connection = self._current()
        ending = connection.newline if newline is None else _checked_newline(newline)
        self._send(connection, _encode(text + ending, connection.encoding))

    @keyword(tags=[SEND])
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

    # One tag: Robot re-normalises a keyword's tags for every call when it reads
    # output.xml back, which costs this one-call check more than its own work.
    @keyword(tags=[CHECK])
    def exchange(
        self, text: str, expected: str, *unknown: str, timeout: timedelta | None = None
    ) -> None:
        """Send ``text`` and check that the reply is exactly ``expected``, in one call.

        The same as `Send` followed by `Reply Should Be`, with the same stream
        semantics: it fails at the first byte that differs, when the peer closes or at
        the timeout, and bytes beyond the reply stay buffered. One call costs Robot about
        a third less than the two.

        | Exchange | hello | Echo=>hello |
        | Exchange | SET k 1\\r\\n | OK\\r\\n | timeout=1s |

        See also `Send`, `Reply Should Be` and `Reply Should Contain`.
        """
        if unknown:
            _reject(self.exchange, unknown)
        connection = self._current()
        encoding = connection.encoding
        self._send(connection, _encode(text, encoding))
        self._check(connection, _encode(expected, encoding), timeout)

    # --- receiving -----------------------------------------------------------------------

    @keyword(tags=[RECEIVE])
    def receive(
        self,
        assertion_operator: str | None = None,
        assertion_expected: Any = None,
        *unknown: str,
        timeout: timedelta | None = None,
        as_bytes: bool = False,
    ) -> Any:
        """Return whatever arrives next: on TCP what one read gets (or what is already
        buffered), on UDP one datagram.

        On TCP the amount is whatever the network delivered, so prefer `Receive Until`,
        `Receive Line`, `Receive Exactly` or `Reply Should Be` for checks. With an
        assertion operator, checks what it returns (see `Assertions`).

        | ${data} = | Receive |
        | ${data} = | Receive | timeout=500 ms | as_bytes=True |
        | Receive | == | X | timeout=1s |
        """
        operator = _operator(self.receive, assertion_operator, unknown)
        connection = self._current()
        value = self._receive(connection, AnyData(), timeout, as_bytes)
        return self._verify("Received", value, operator, assertion_expected, connection.encoding)

    @keyword(tags=[RECEIVE])
    def receive_until(
        self,
        marker: str,
        assertion_operator: str | None = None,
        assertion_expected: Any = None,
        *unknown: str,
        timeout: timedelta | None = None,
        as_bytes: bool = False,
    ) -> Any:
        """Receive up to and including ``marker`` and return it; TCP only.

        Bytes after the marker stay buffered.

        | ${prompt} = | Receive Until | > |
        | ${header} = | Receive Until | \\r\\n\\r\\n | timeout=2s |
        | Receive Until | > | == | ok> |

        See also `Receive Line`, `Receive Until Regexp` and `Reply Should Contain`.
        """
        operator = _operator(self.receive_until, assertion_operator, unknown)
        connection = self._stream()
        until = UpTo(_encode(marker, connection.encoding), marker)
        value = self._receive(connection, until, timeout, as_bytes)
        return self._verify("Received", value, operator, assertion_expected, connection.encoding)

    @keyword(tags=[RECEIVE])
    def receive_until_regexp(
        self, regexp: str, *unknown: str, timeout: timedelta | None = None
    ) -> str:
        """Receive up to and including the first match of ``regexp`` and return it.

        Searches the received text anywhere (Python ``re.search``, with ``.`` matching
        newlines too), like the Telnet library's ``Read Until Regexp``: whatever comes
        before the match is consumed with it, and bytes after it stay buffered. Write
        patterns that cannot match a partial reply: ``\\\\d+`` would match the first digit
        that arrives, ``\\\\d+\\n`` would not. On UDP the next datagram must contain a
        match, and is returned whole.

        | Send Line | GET k |
        | ${reply} = | Receive Until Regexp | VALUE \\\\w+\\r\\n |
        | Receive Until Regexp | [>#] | timeout=1s |

        See also `Receive Until`, `Reply Should Contain` and `Reply Should Match`.
        """
        if unknown:
            _reject(self.receive_until_regexp, unknown)
        connection = self._current()
        return self._receive(connection, Search(regexp, connection.encoding), timeout, False)

    @keyword(tags=[RECEIVE])
    def receive_line(
        self,
        assertion_operator: str | None = None,
        assertion_expected: Any = None,
        *unknown: str,
        timeout: timedelta | None = None,
        as_bytes: bool = False,
        newline: str | None = None,
    ) -> Any:
        """Receive one line and return it without its newline; TCP only.

        The line ends with the connection's newline (see `Importing`), or ``newline``
        for this call. With the default ``LF``, a ``\\r`` before the ``\\n`` is removed
        too, so ``\\r\\n`` lines are read either way. With an assertion operator, checks
        the line (see `Assertions`).

        | ${line} = | Receive Line |
        | Receive Line | == | Welcome to the server. Type something and hit enter |
        | Receive Line | ^= | VALUE | newline=CRLF | timeout=1s |

        See also `Send Line` and `Receive Until`.
        """
        operator = _operator(self.receive_line, assertion_operator, unknown)
        connection = self._stream()
        ending = connection.newline if newline is None else _checked_newline(newline)
        line_end = Line(_encode(ending, connection.encoding), ending)
        line = self._receive(connection, line_end, timeout, as_bytes)
        line = line[: -len(ending)]
        if ending == "\n" and line[-1:] in ("\r", b"\r"):
            line = line[:-1]
        return self._verify(
            "Received line", line, operator, assertion_expected, connection.encoding
        )

    @keyword(tags=[RECEIVE])
    def receive_exactly(
        self,
        count: int,
        assertion_operator: str | None = None,
        assertion_expected: Any = None,
        *unknown: str,
        timeout: timedelta | None = None,
        as_bytes: bool = False,
    ) -> Any:
        """Receive exactly ``count`` bytes and return them; TCP only.

        | ${head} = | Receive Exactly | 6 |
        | ${raw} = | Receive Exactly | 4 | as_bytes=True |
        | Receive Exactly | 4 | == | ff 00 41 42 | as_bytes=True |
        """
        operator = _operator(self.receive_exactly, assertion_operator, unknown)
        connection = self._stream()
        value = self._receive(connection, Count(count), timeout, as_bytes)
        return self._verify("Received", value, operator, assertion_expected, connection.encoding)

    def _receive(
        self,
        connection: Connection,
        expectation: Expectation,
        timeout: timedelta | None,
        as_bytes: bool,
    ) -> str | bytes:
        outcome = self._await(connection, expectation, timeout)
        if as_bytes:
            result = outcome.data
            # Robot logs an assigned bytes value as Latin-1, which shows control bytes blank.
            logger.info(f"{len(result)} bytes: hex {hex_bytes(result)}")
        else:
            result = self._decoded(connection, outcome.data)
        connection.consume(outcome)
        return result

    def _verify(
        self,
        what: str,
        value: str | bytes,
        operator: AssertionOperator | None,
        expected: Any,
        encoding: str,
    ) -> Any:
        """Check a received value with the assertion engine, failing in the library's words:
        what arrived (whitespace visible) and what it should have been."""
        if operator is None:
            if expected is not None:
                raise ValueError(f"{quote(str(expected))} needs an assertion operator before it")
            return value
        if isinstance(value, bytes) and isinstance(expected, str) and operator not in _EVALUATE:
            expected = parse_hex(expected)
        shown_value = described(value, encoding) if isinstance(value, bytes) else quote(value)
        shown_expected = (
            described(expected, encoding) if isinstance(expected, bytes) else quote(str(expected))
        )
        verb = handlers[operator][1] if operator in handlers else str(operator.value)
        message = f"{what} {shown_value} {verb} {shown_expected}"
        # The engine formats a custom message with str.format: keep its braces literal.
        custom = message.replace("{", "{{").replace("}", "}}")
        try:
            return verify_assertion(value, operator, expected, custom_message=custom)
        except AssertionError as error:
            self._fail(str(error))

    # --- checking replies ----------------------------------------------------------------

    @keyword(tags=[CHECK])
    def reply_should_be(
        self, expected: str, *unknown: str, timeout: timedelta | None = None
    ) -> None:
        """Check that the next reply is exactly ``expected``.

        On TCP this gathers bytes until it holds as many as ``expected`` encodes to, and
        fails at once when a byte differs, when the peer closes, or at the timeout. It
        does not depend on how the reply was segmented, and bytes beyond the reply stay
        buffered for the next keyword. On UDP it takes the next datagram, which must be
        exactly ``expected``.

        | Send | hello |
        | Reply Should Be | Echo=>hello |
        | Reply Should Be | welcome to server! | timeout=1s |

        See also `Exchange`, `Reply Should Contain`, `Reply Should Match` and
        `Reply Should Be Bytes`.
        """
        if unknown:
            _reject(self.reply_should_be, unknown)
        connection = self._current()
        self._check(connection, _encode(expected, connection.encoding), timeout)

    @keyword(tags=[CHECK])
    def reply_should_be_bytes(
        self, expected: bytes | str, *unknown: str, timeout: timedelta | None = None
    ) -> None:
        """Like `Reply Should Be`, for raw bytes or a hex string such as ``ff 00 41``.

        | Reply Should Be Bytes | b7 fe ce f1 |
        | Reply Should Be Bytes | ${expected bytes} | timeout=1s |
        """
        if unknown:
            _reject(self.reply_should_be_bytes, unknown)
        payload = parse_hex(expected) if isinstance(expected, str) else bytes(expected)
        self._check(self._current(), payload, timeout)

    def _check(self, connection: Connection, expected: bytes, timeout: timedelta | None) -> None:
        outcome = self._await(connection, Exactly(expected, connection.encoding), timeout)
        connection.consume(outcome)

    @keyword(tags=[CHECK])
    def reply_should_contain(
        self, text: str, *unknown: str, timeout: timedelta | None = None
    ) -> None:
        """Check that ``text`` arrives, and consume the reply up to and including it.

        On TCP this gathers bytes until ``text`` appears anywhere in them; whatever came
        before it is consumed with it, and bytes after it stay buffered. It fails when
        the peer closes or at the timeout, showing what arrived. On UDP the next
        datagram must contain ``text``.

        | Send Line | GET greeting |
        | Reply Should Contain | hello |
        | Reply Should Contain | 200 OK | timeout=1s |

        See also `Reply Should Be`, `Receive Until` and `Receive Until Regexp`.
        """
        if unknown:
            _reject(self.reply_should_contain, unknown)
        connection = self._current()
        contains = Contains(_encode(text, connection.encoding), text)
        connection.consume(self._await(connection, contains, timeout))

    @keyword(tags=[CHECK])
    def reply_should_match(
        self, regexp: str, *unknown: str, timeout: timedelta | None = None
    ) -> str | list[str]:
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

        See also `Reply Should Be` and `Receive Until Regexp`.
        """
        if unknown:
            _reject(self.reply_should_match, unknown)
        connection = self._current()
        pattern = Pattern(regexp, connection.encoding)
        connection.consume(self._await(connection, pattern, timeout))
        return _match_result(pattern.found)

    @keyword(tags=[CHECK])
    def no_reply_within(self, duration: timedelta) -> None:
        """Check that no data arrives within the given time.

        Data that was already buffered counts as a reply. A peer closing the connection
        is not a reply: use `Connection Should Stay Open` to check that too. Received
        data stays buffered.

        | Send | ignored |
        | No Reply Within | 500 ms |
        """
        self._await(self._current(), NoData(), duration)

    @keyword(tags=[CHECK])
    def connection_should_be_closed(
        self, *, within: timedelta | None = None, **unknown: str
    ) -> None:
        """Check that the peer closes the connection (FIN or reset) within the time; TCP only.

        Fails if data arrives instead, showing it, or if the connection is still open
        at the end. Data stays buffered.

        | Send | 1 |
        | Reply Should Be | welcome to server! |
        | Connection Should Be Closed | within=1s |

        See also `Connection Should Stay Open`.
        """
        if unknown:
            _reject(self.connection_should_be_closed, named=unknown)
        self._await(self._stream(), PeerClose(), within)

    @keyword(tags=[CHECK])
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

    @keyword(tags=[SERVER])
    def start_server(
        self,
        command: str | list[str],
        port: int,
        *unknown: str,
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
        if unknown:
            _reject(self.start_server, unknown)
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
            f"Started {shown_command(server.args)} (pid {server.pid}) {where}; "
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

    @keyword(tags=[SERVER])
    def stop_server(
        self, alias: str | None = None, *, grace: timedelta | str = "2s", **unknown: str
    ) -> int:
        """Stop a started server and every process it started; return its exit code.

        Sends TERM to the server's process group and to every process it started, then
        KILL after ``grace`` to whatever is left. Logs the end of the server's output.
        Stops the most recently started server unless ``alias`` (or index) names one.

        | Stop Server |
        | ${code} = | Stop Server | echo | grace=5s |

        See also `Start Server` and `Stop All Servers`.
        """
        if unknown:
            _reject(self.stop_server, named=unknown)
        server = self._server(alias)
        self._transcript.finish()  # the conversation comes before the server's end
        self._let_it_end(server)
        code = server.stop(to_seconds(grace))
        self._record(facts.server_stopped, server.token, code)
        tail = server.output_tail()
        logger.info(
            f"Server {shown_command(server.args)} stopped with exit code {code}. "
            + (f"Its output ends with:\n{tail}" if tail else "It printed nothing.")
        )
        return code

    @keyword(tags=[SERVER])
    def stop_all_servers(self, *, grace: timedelta | str = "2s", **unknown: str) -> None:
        """Stop every server this suite started. Use it in suite teardowns.

        | Suite Teardown | Stop All Servers |
        | Suite Teardown | Stop All Servers | grace=5s |
        """
        if unknown:
            _reject(self.stop_all_servers, named=unknown)
        self._transcript.finish()
        for server in self._servers:
            if server.alive():
                self._servers.switch(server)
                self.stop_server(grace=grace)
        self._servers.empty_cache()

    @keyword(tags=[SERVER])
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
                f"Server {shown_command(server.args)} {describe_exit(server.popen.wait())}."
                + (f" Its output ends with:\n{tail}" if tail else " It printed nothing.")
            )

    @keyword(tags=[SERVER])
    def get_server_output(
        self,
        assertion_operator: str | None = None,
        assertion_expected: Any = None,
        *unknown: str,
        alias: str | None = None,
        lines: int = 20,
    ) -> Any:
        """Return the last ``lines`` lines the server wrote to stdout and stderr.

        Of the most recently started server unless ``alias`` (or index) names one. With
        an assertion operator, checks the output (see `Assertions`).

        | ${output} = | Get Server Output |
        | Get Server Output | contains | LISTENING |
        | Get Server Output | not contains | Traceback | alias=echo | lines=100 |
        """
        operator = _operator(self.get_server_output, assertion_operator, unknown)
        output = self._server(alias).output_tail(max_lines=lines)
        return self._verify("Server output", output, operator, assertion_expected, "UTF-8")

    def _server(self, alias: str | None) -> ManagedProcess:
        try:
            return self._servers.get_connection(alias)
        except RuntimeError as error:
            if alias is None:
                self._fail(str(error))
            started = [
                f"#{index}" + (f" ({name})" if name else "")
                for index, name in _names(self._servers).items()
            ]
            self._fail(_not_found("server", alias, started, "started"))

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
        if connection.role == "server":  # the client under test may exit instead
            outcome = self._await_client(connection, expectation, wait)
        else:
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
            f"\nThe server {shown_command(server.args)} {describe_exit(server.popen.wait())}."
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


def _reject(method: Any, extra: tuple = (), named: dict | None = None, name: str = "") -> NoReturn:
    """Fail a keyword called with arguments it does not take: a typo in an option's name
    (which Robot passes on as an extra value) must not pass silently."""
    options = [
        parameter.name
        for parameter in inspect.signature(method).parameters.values()
        if parameter.kind is inspect.Parameter.KEYWORD_ONLY
    ]
    keyword_name = (
        name
        or getattr(method, "robot_name", None)
        or printable_name(method.__name__, code_style=True)
    )
    problems = [
        f"unknown option {_option_text(item, options)}"
        if _looks_named(item)
        else f"an extra argument {quote(str(item))}"
        for item in [*extra, *(f"{key}={value}" for key, value in (named or {}).items())]
    ]
    raise OptionError(
        f"{keyword_name} got {' and '.join(problems)}. Its options are named: "
        + ", ".join(f"{option}=…" for option in options)
    )


def _looks_named(item: object) -> bool:
    return isinstance(item, str) and item.split("=", 1)[0].isidentifier() and "=" in item


def _option_text(item: str, options: list[str]) -> str:
    """``'timout' (did you mean 'timeout'?)`` for the ``name=value`` ``item``."""
    name = item.split("=", 1)[0]
    close = difflib.get_close_matches(name, options, n=1)
    return quote(name) + (f" (did you mean {quote(close[0])}?)" if close else "")


def _not_found(kind: str, name: object, names: list[str], state: str) -> str:
    listed = f"the {state} {kind}s are {', '.join(names)}" if names else f"no {kind} is {state}"
    return f"No {kind} named {quote(str(name))}; {listed}."


def _names(cache: ConnectionCache) -> dict[int, str]:
    """Index -> alias (or "") of every entry of a ConnectionCache."""
    aliases = {index: alias for alias, index in cache._aliases.items()}
    return {index: aliases.get(index, "") for index in range(1, len(cache) + 1)}


def _checked_newline(value: str) -> str:
    newline = NEWLINES.get(value.upper(), value)
    if newline not in NEWLINES.values():
        raise ValueError(f"newline must be LF, CRLF or CR, not {quote(value)}")
    return newline


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
