"""Reference clients for the six seed clients:
``python -m services.clients NAME [--host H] [--port P] [--timeout S] [arguments]``.

Each client is one small function over the shared runner below: the runner parses the
command line, opens the socket (every operation bounded by ``--timeout``), and turns any
socket error or failed resolution into one line on stderr and exit code 1. What a reply
looks like comes from ``services.protocols``, so a client knows when it has a whole
reply however the stream was segmented.

- ``uppercase`` (UDP): prompts ``Input a lowercase sentence: ``, reads a line, sends it,
  prints the reply.
- ``timestamp`` (TCP): prompts ``> `` and reads lines until an empty one (or the end of
  input), sends each and prints each reply; stops when the server closes.
- ``welcome`` (TCP): connects, waits 2 s, sends ``1``, prints the reply.
- ``echo`` (TCP): sends each message (default ``Hello network world``), prints
  ``Client received: <reply>`` for each, closes.
- ``ack`` (UDP): prompts ``> ``, reads a line, sends it, prints the acknowledgement
  decoded from GBK.
- ``http`` (TCP): resolves the host, sends ``GET / HTTP/1.1\\r\\n\\r\\n``, prints everything
  until the server closes.
"""

from __future__ import annotations

import argparse
import socket
import sys
import time
from collections.abc import Callable
from typing import NamedTuple

from .protocols import ECHO_PREFIX

EXIT_ERROR = 1
RECV_SIZE = 4096
MAX_DATAGRAM = 65535
CTIME_LENGTH = len(time.ctime(0))  # 24: the stamp before each timestamp reply
WELCOME_WAIT = 2.0
DEFAULT_MESSAGE = "Hello network world"
HTTP_REQUEST = b"GET / HTTP/1.1\r\n\r\n"


class ClientError(Exception):
    """What went wrong, in one line for the user."""


class SeedClient(NamedTuple):
    name: str
    transport: str
    default_port: int
    summary: str
    run: Callable[[argparse.Namespace], None]
    takes_messages: bool = False


# --- the shared runner ------------------------------------------------------------------


def connect(args: argparse.Namespace) -> socket.socket:
    """A TCP connection to ``--host``:``--port``, resolved with ``gethostbyname`` as the
    seed clients do; every later operation is bounded by ``--timeout``."""
    address = (resolve(args.host), args.port)
    try:
        return socket.create_connection(address, timeout=args.timeout)
    except OSError as error:
        raise ClientError(f"cannot connect to {args.host}:{args.port}: {_reason(error)}") from None


def datagram_socket(args: argparse.Namespace) -> socket.socket:
    """A UDP socket connected to the server: replies from anyone else are dropped, and a
    port nobody listens on is reported as refused instead of waited on."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.settimeout(args.timeout)
    sock.connect((resolve(args.host), args.port))
    return sock


def resolve(host: str) -> str:
    try:
        return socket.gethostbyname(host)
    except OSError as error:
        raise ClientError(f"cannot resolve host {host!r}: {_reason(error)}") from None


def send(sock: socket.socket, data: bytes) -> None:
    """Send one message: all of it on TCP, one datagram on UDP."""
    sock.sendall(data)


def receive_at_least(sock: socket.socket, count: int) -> bytes:
    """Read until ``count`` bytes have arrived (a reply split over segments is read whole),
    or the server closes; whatever came is returned."""
    data = bytearray()
    while len(data) < count:
        chunk = sock.recv(max(count - len(data), RECV_SIZE))
        if not chunk:
            break
        data += chunk
    return bytes(data)


def receive_until_closed(sock: socket.socket) -> bytes:
    data = bytearray()
    while chunk := sock.recv(RECV_SIZE):
        data += chunk
    return bytes(data)


def read_line(prompt: str) -> str | None:
    """One line typed on stdin, without its newline; None at the end of input."""
    try:
        return input(prompt)
    except EOFError:
        return None


def _reason(error: OSError) -> str:
    if isinstance(error, TimeoutError):
        return "timed out"
    return error.strerror or str(error)


def _text(data: bytes, encoding: str = "utf-8") -> str:
    return data.decode(encoding, errors="replace")


# --- the six clients ---------------------------------------------------------------------


def uppercase(args: argparse.Namespace) -> None:
    sentence = read_line("Input a lowercase sentence: ")
    if sentence is None:
        raise ClientError("no sentence was typed")
    with datagram_socket(args) as sock:
        send(sock, sentence.encode())
        reply = sock.recv(MAX_DATAGRAM)
    print(_text(reply))


def timestamp(args: argparse.Namespace) -> None:
    with connect(args) as sock:
        while line := read_line("> "):
            data = line.encode()
            send(sock, data)
            reply = receive_at_least(sock, CTIME_LENGTH + len(data))
            if not reply:
                break  # the server closed the connection
            print(_text(reply), flush=True)


def welcome(args: argparse.Namespace) -> None:
    with connect(args) as sock:
        time.sleep(WELCOME_WAIT)  # waiting before it speaks is this client's behaviour
        send(sock, b"1")
        print(_text(receive_until_closed(sock)))


def echo(args: argparse.Namespace) -> None:
    with connect(args) as sock:
        for message in args.messages or [DEFAULT_MESSAGE]:
            data = message.encode()
            send(sock, data)
            reply = receive_at_least(sock, len(ECHO_PREFIX) + len(data))
            if not reply:
                raise ClientError("the server closed the connection without replying")
            print(f"Client received: {_text(reply)}", flush=True)


def ack(args: argparse.Namespace) -> None:
    line = read_line("> ")
    if line is None:
        raise ClientError("no line was typed")
    with datagram_socket(args) as sock:
        send(sock, line.encode("gbk", errors="replace"))
        reply = sock.recv(MAX_DATAGRAM)
    print(_text(reply, "gbk"))


def http(args: argparse.Namespace) -> None:
    with connect(args) as sock:
        send(sock, HTTP_REQUEST)
        response = receive_until_closed(sock)
    sys.stdout.write(_text(response))
    sys.stdout.flush()


CLIENTS = {
    client.name: client
    for client in (
        SeedClient("uppercase", "udp", 12000, "sends a typed line, prints the reply", uppercase),
        SeedClient("timestamp", "tcp", 11000, "sends typed lines until an empty one", timestamp),
        SeedClient("welcome", "tcp", 8001, "waits 2 s, sends 1, prints the reply", welcome),
        SeedClient("echo", "tcp", 50007, "sends each message, prints each reply", echo, True),
        SeedClient("ack", "udp", 8080, "sends a typed line, prints the GBK reply", ack),
        SeedClient("http", "tcp", 80, "GET / and prints the response", http),
    )
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m services.clients", description="Run a reference client."
    )
    names = parser.add_subparsers(dest="name", metavar="NAME", required=True)
    for client in CLIENTS.values():
        sub = names.add_parser(client.name, help=client.summary)
        sub.add_argument("--host", default="127.0.0.1", help="server host (default 127.0.0.1)")
        sub.add_argument(
            "--port",
            type=int,
            default=client.default_port,
            help=f"server port (default {client.default_port})",
        )
        sub.add_argument(
            "--timeout",
            type=float,
            default=10.0,
            help="the longest any connect, send or receive may take, in seconds (default 10)",
        )
        if client.takes_messages:
            sub.add_argument("messages", nargs="*", help=f"default: {DEFAULT_MESSAGE!r}")
    return parser


def run(args: argparse.Namespace) -> int:
    """Run the client the arguments name; report an error in one line and return 1."""
    try:
        CLIENTS[args.name].run(args)
    except ClientError as error:
        print(f"{args.name}: {error}", file=sys.stderr)
        return EXIT_ERROR
    except OSError as error:
        print(f"{args.name}: {_reason(error)}", file=sys.stderr)
        return EXIT_ERROR
    return 0


def main(argv: list[str] | None = None) -> int:
    return run(build_parser().parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
