"""``python -m services NAME [--host H] [--port N] [options]``: run one reference server.

The first stdout line is ``LISTENING <tcp|udp> <host>:<port>``. SIGTERM or SIGINT stop it
gracefully with exit code 0: it stops accepting, gives open connections up to
``--stop-grace`` seconds (1 by default) to end, cuts the rest, and logs every one. A port
that cannot be bound, or a TLS certificate that cannot be loaded, gives one error line
and exit code 2. TCP behaviours run over TLS with ``--tls-cert`` (and ``--tls-key``).
"""

from __future__ import annotations

import argparse
import logging
import math
import signal
import socket
import sys

from .behaviours import BEHAVIOURS
from .runner import STOP_GRACE, Server

EXIT_CANNOT_LISTEN = 2
STOP_SIGNALS = {signal.SIGTERM, signal.SIGINT}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m services",
        description="Run a reference server. Use --list to see the behaviours.",
    )
    parser.add_argument("--list", action="store_true", help="list the behaviours and exit")
    names = parser.add_subparsers(dest="name", metavar="NAME")
    for behaviour in BEHAVIOURS.values():
        sub = names.add_parser(
            behaviour.name,
            help=behaviour.contract,
            description=f"{behaviour.name} ({behaviour.transport}): {behaviour.contract}",
        )
        sub.add_argument(
            "--host",
            default="127.0.0.1",
            help="address to bind: 127.0.0.1 (default), ::1, 0.0.0.0 for all "
            "interfaces, or unix:/path for TCP behaviours",
        )
        sub.add_argument(
            "--port",
            type=int,
            default=behaviour.default_port,
            help=f"port to bind, 0 for any free port (default {behaviour.default_port})",
        )
        sub.add_argument(
            "--stop-grace",
            type=_checked(_grace),
            default=STOP_GRACE,
            metavar="SECONDS",
            help="on SIGTERM or SIGINT, how long open connections may take to finish "
            f"before they are cut (default {STOP_GRACE:g})",
        )
        if behaviour.transport == "tcp":
            sub.add_argument(
                "--tls-cert",
                metavar="PEM",
                help="serve over TLS with this certificate chain (PEM; the key may be in it)",
            )
            sub.add_argument("--tls-key", metavar="PEM", help="the private key of --tls-cert")
        for option in behaviour.options:
            sub.add_argument(
                option.flag,
                dest=option.name,
                default=option.default,
                type=_checked(option.type),
                choices=option.choices,
                help=option.help,
            )
    return parser


def _checked(convert):
    """Turn a converter's ValueError into argparse's one-line usage error."""

    def checked(text: str) -> object:
        try:
            return convert(text)
        except ValueError as error:
            raise argparse.ArgumentTypeError(str(error)) from None

    return checked


def _grace(text: str) -> float:
    seconds = float(text)
    if not 0 <= seconds < math.inf:
        raise ValueError(f"the stop grace must be 0 or more seconds, not {text!r}")
    return seconds


def list_behaviours() -> str:
    width = max(map(len, BEHAVIOURS))
    return "\n".join(
        f"{b.name:<{width}}  {b.transport} {b.default_port:<5}  {b.contract}"
        for b in BEHAVIOURS.values()
    )


class StopSignals:
    """Catches SIGTERM and SIGINT from creation on; ``wait()`` returns once one came.

    Create it before binding: a server that is seen listening must already survive a stop
    signal and exit 0.
    """

    def __init__(self) -> None:
        # The kernel may deliver the signal to any thread, and Python runs handlers only
        # when the main thread executes bytecode; one asleep on a lock would never see it.
        # The interpreter writes every handled signal to the wakeup socket, waking recv().
        self._woken, self._wakeup = socket.socketpair()
        self._wakeup.setblocking(False)
        signal.set_wakeup_fd(self._wakeup.fileno())
        for signum in STOP_SIGNALS:
            signal.signal(signum, lambda *_: None)

    def wait(self) -> None:
        self._woken.recv(1)


def serve_until_signalled(server: Server, stop_signals: StopSignals) -> None:
    """Announce readiness on stdout, then serve until SIGTERM or SIGINT."""
    with server:
        print(server.listening_line, flush=True)
        stop_signals.wait()


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.list:
        print(list_behaviours())
        return 0
    if not args.name:
        parser.error("name a behaviour, or use --list")
    behaviour = BEHAVIOURS[args.name]
    options = {option.name: getattr(args, option.name) for option in behaviour.options}
    logging.basicConfig(
        stream=sys.stderr, level=logging.INFO, format=f"%(asctime)s {args.name} %(message)s"
    )
    stop_signals = StopSignals()
    try:
        tls = {"tls_cert": args.tls_cert, "tls_key": args.tls_key} if "tls_cert" in args else {}
        server = Server(
            args.name, args.host, args.port, stop_grace=args.stop_grace, **tls, **options
        )
    except (OSError, ValueError) as error:
        reason = error.strerror if isinstance(error, OSError) and error.strerror else error
        print(
            f"{args.name}: cannot listen on {args.host} port {args.port}: {reason}", file=sys.stderr
        )
        return EXIT_CANNOT_LISTEN

    serve_until_signalled(server, stop_signals)
    return 0


if __name__ == "__main__":
    sys.exit(main())
