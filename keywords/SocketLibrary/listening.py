"""The server side of the library: listen on a port and accept the client under test.

A mixin of ``SocketLibrary``: it shares the library's connection cache, transcript and
failure handling. An accepted connection is registered like an opened one, so every
keyword that sends, receives and checks works on it unchanged.
"""

from __future__ import annotations

import weakref
from datetime import timedelta

from robot.api.deco import keyword
from robot.utils import ConnectionCache

from .display import to_seconds
from .expectations import Expectation
from .options import reject
from .transport import (
    Abandoned,
    AnsweringDatagramConnection,
    Connection,
    Kind,
    Listener,
    Outcome,
    TransportError,
    listen_datagram,
    listen_stream,
)


class ListeningKeywords:
    """Keywords for testing clients: the library listens, the program under test connects."""

    @property
    def _listeners(self) -> ConnectionCache[Listener]:
        """This suite's listeners, made on first use and closed at the latest with it."""
        listeners = self.__dict__.get("_listener_cache")
        if listeners is None:
            listeners = self._listener_cache = ConnectionCache("Not listening on any port.")
            weakref.finalize(self, listeners.close_all)
        return listeners

    @keyword("Listen On TCP Port", tags=["Connection"])
    def listen_on_tcp_port(
        self, port: int = 0, host: str = "127.0.0.1", *, alias: str | None = None, **unknown: str
    ) -> int:
        """Listen for TCP clients on ``port`` and return the port; 0 takes a free one.

        ``host`` is the address to listen on: ``127.0.0.1`` (default), ``::1``,
        ``0.0.0.0`` for every interface, or ``unix:/path`` for a Unix stream socket (then
        the port returned is 0). `Accept Connection` then takes the clients that connect,
        one at a time. The newest listener is the one `Accept Connection` uses, unless
        told otherwise by its ``listener`` option, which names the listener's ``alias``.
        ``alias`` is named, and a ``name=value`` that is no option fails with
        ``unknown option``.

        | ${port} = | Listen On TCP Port |
        | Start Client | python3 client.py --port ${port} |
        | Accept Connection |
        | Listen On TCP Port | 8080 | ::1 | alias=web |

        See also `Accept Connection`, `Listen On UDP Port` and `Stop Listening`.
        """
        if unknown:
            reject(self.listen_on_tcp_port, named=unknown)
        try:
            listener = listen_stream(host, port)
        except TransportError as error:
            self._fail(str(error))
        index = self._listeners.register(listener, alias)
        listener.label = alias or f"listener {index}"
        self._transcript.note(listener.label, f"listening on tcp {listener.address}")
        self._transcript.settle()
        return listener.port

    @keyword("Listen On UDP Port", tags=["Connection"])
    def listen_on_udp_port(
        self,
        port: int = 0,
        host: str = "127.0.0.1",
        *,
        alias: str | None = None,
        timeout: timedelta | None = None,
        encoding: str | None = None,
        newline: str | None = None,
        **unknown: str,
    ) -> int:
        """Bind a UDP endpoint on ``port``, make it the current connection, and return the
        port; 0 takes a free one.

        The endpoint receives datagrams from any client, and `Send` answers the sender of
        the last datagram received (`Get Peer Address` names it). Sending before any
        datagram has arrived fails: there is nobody to answer yet. The named options
        ``alias``, ``timeout``, ``encoding`` and ``newline`` are the endpoint's, as for
        `Open UDP Connection`.

        A wait for a datagram (`Reply Should Be`, `Receive`...) while the current client
        from `Start Client` has exited fails at once, when no datagram is left to
        read: nothing more can come. It says how the client ended, for example
        ``Expected 'hello' but the client exited with code 1 before sending anything``,
        and shows the end of its stdout and stderr.

        | ${port} = | Listen On UDP Port | alias=server |
        | Start Client | python3 udp_client.py --port ${port} | stdin=hello\\n |
        | Reply Should Be | hello |
        | Send | HELLO |
        | Listen On UDP Port | 8080 | encoding=GBK | timeout=2s |

        See also `Listen On TCP Port` and `Get Peer Address`.
        """
        if unknown:
            reject(self.listen_on_udp_port, named=unknown)
        wait = self._timeout if timeout is None else to_seconds(timeout)
        try:
            endpoint = listen_datagram(
                host, port, **self._connection_options(wait, encoding, newline, alias)
            )
        except TransportError as error:
            self._fail(str(error))
        index = self._connections.register(endpoint, alias)
        endpoint.label = alias or f"#{index}"
        self._transcript.note(endpoint.label, f"listening on udp {endpoint.local}")
        self._transcript.settle()
        return endpoint.sock.getsockname()[1]

    @keyword(tags=["Connection"])
    def accept_connection(
        self,
        *,
        timeout: timedelta | None = None,
        alias: str | None = None,
        listener: str | None = None,
        encoding: str | None = None,
        newline: str | None = None,
        **unknown: str,
    ) -> int:
        """Accept the next client's TCP connection and return its index; it becomes the
        current connection.

        Waits at most ``timeout`` (the library's default unless given) for a client to
        connect, then fails with, for example,
        ``no client connected to tcp 127.0.0.1:40113 within 5s``. When the current client
        from `Start Client` has exited (or exits) without connecting, it fails at once,
        with its exit code and the end of its output. The accepted
        connection is an ordinary one: `Send`, `Receive`, `Reply Should Be`,
        `Connection Should Be Closed` and the rest work on it, ``timeout``,
        ``encoding`` and ``newline`` become its defaults, and it is in the transcript.
        ``listener`` names the listener by alias or index; the newest one by default.
        Every option is named, and a ``name=value`` that is no option fails with
        ``unknown option``.

        | Listen On TCP Port | 0 |
        | Accept Connection | timeout=2s | alias=client |
        | Reply Should Be | hello |
        | Send | Echo=>hello |

        See also `Listen On TCP Port` and `Get Peer Address`.
        """
        if unknown:
            reject(self.accept_connection, named=unknown)
        wait = self._timeout if timeout is None else to_seconds(timeout)
        try:
            source = self._listeners.get_connection(listener)
        except RuntimeError as error:
            self._fail(str(error))
        client = self._watched_client()
        try:
            connection = source.accept(
                wait,
                unless=client.exit_fd if client else None,
                buffer_limit=self._buffer_limit,
                **self._connection_options(wait, encoding, newline, alias),
            )
        except Abandoned as error:
            self._client_failure(client, f"{error}: the client {client.state()} without connecting")
        except TransportError as error:
            self._fail(str(error))
        index = self._connections.register(connection, alias)
        connection.label = alias or f"#{index}"
        accepted = f"accepted tcp {connection.local} \u2190 {connection.peer}"
        self._transcript.record(connection, "accept", accepted, "connect")
        self._transcript.settle()
        return index

    @keyword(tags=["Connection"])
    def get_peer_address(self) -> str:
        """Return the address of the current connection's peer, such as ``127.0.0.1:40112``.

        On a connection from `Accept Connection` it is the client's address; on a
        `Listen On UDP Port` endpoint, the sender of the last datagram received.

        | ${client} = | Get Peer Address |
        | Should Start With | ${client} | 127.0.0.1: |
        """
        return self._current().peer

    @keyword(tags=["Connection"])
    def stop_listening(self, listener: str | None = None) -> None:
        """Close a listener: clients can no longer connect. Accepted connections stay open.

        Closes the newest listener unless ``listener`` names one. `Close All Connections`
        closes every listener too.

        | Stop Listening |
        | Stop Listening | web |
        """
        try:
            source = self._listeners.get_connection(listener)
        except RuntimeError as error:
            self._fail(str(error))
        source.close()
        self._transcript.note(source.label, f"stopped listening on tcp {source.address}")
        self._transcript.settle()

    def _await_client(
        self, connection: Connection, expectation: Expectation, wait: float
    ) -> Outcome:
        """Part of every wait on a connection where the library is the server.

        On a UDP endpoint, a wait for a datagram ends as soon as the current client has
        exited with none left to read, and fails saying so. (An accepted TCP connection
        needs no watch: the client's exit closes it, which ends the wait.)"""
        client = self._watched_client()
        if (
            client is None
            or not isinstance(connection, AnsweringDatagramConnection)
            or Kind.TIMED_OUT in expectation.passes  # silence passes: wait it out
        ):
            return connection.wait(expectation, wait)
        outcome = connection.wait(expectation, wait, unless=client.exit_fd)
        if outcome.kind is Kind.ABANDONED:
            what = "anything" if connection.sender is None else "it"
            self._client_failure(
                client,
                f"{expectation.expected()} but the client {client.state()} before sending {what}",
                connection,
            )
        return outcome

    def _close_listeners(self) -> None:
        """Part of `Close All Connections`."""
        self._listeners.close_all()
