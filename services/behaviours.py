"""The registry of behaviours: name, transport, seed port, contract and options.

Names here are used everywhere: the CLI, the suite files and the grader.
"""

from __future__ import annotations

import codecs
import functools
import time
from collections.abc import Callable
from typing import NamedTuple

from . import protocols
from .protocols import DatagramProtocol, StreamProtocol


class Option(NamedTuple):
    """A behaviour option, shared by the CLI (``--idle-timeout``) and ``serve(idle_timeout=)``."""

    name: str
    default: object
    help: str
    type: Callable[[str], object] = str
    choices: tuple[str, ...] | None = None

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")


class Behaviour(NamedTuple):
    name: str
    transport: str  # "tcp" or "udp"
    default_port: int
    contract: str
    build: Callable[..., StreamProtocol | DatagramProtocol]
    options: tuple[Option, ...] = ()

    def protocol(self, **options: object) -> StreamProtocol | DatagramProtocol:
        """Build the protocol, filling defaults and rejecting unknown or invalid options."""
        known = {option.name: option for option in self.options}
        unknown = sorted(set(options) - set(known))
        if unknown:
            raise ValueError(
                f"behaviour {self.name!r} takes no option {', '.join(unknown)}; "
                f"it takes: {', '.join(known) or 'none'}"
            )
        values = {name: options.get(name, option.default) for name, option in known.items()}
        return self.build(**values)


def _encoding(name: str) -> str:
    try:
        return codecs.lookup(name).name
    except LookupError:
        raise ValueError(f"unknown encoding {name!r}") from None


def _positive_seconds(text: str) -> float:
    seconds = float(text)
    if not seconds > 0:
        raise ValueError(f"idle timeout must be a positive number of seconds, not {text!r}")
    return seconds


def _uppercase(encoding: str) -> DatagramProtocol:
    return DatagramProtocol(functools.partial(protocols.uppercase, encoding=_encoding(encoding)))


def _ack(encoding: str) -> DatagramProtocol:
    return DatagramProtocol(functools.partial(protocols.ack, encoding=_encoding(encoding)))


def _timestamp(format: str) -> StreamProtocol:  # noqa: A002 - mirrors the --format option
    if format not in protocols.TIMESTAMP_STYLES:
        raise ValueError(f"unknown format {format!r}; expected one of {protocols.TIMESTAMP_STYLES}")
    return StreamProtocol(lambda chunk: protocols.timestamp_reply(chunk, time.time(), format))


def _welcome_timeout(idle_timeout: float | str) -> StreamProtocol:
    return StreamProtocol(
        protocols.welcome_reply,
        idle_timeout=_positive_seconds(str(idle_timeout)),
        close_after_reply=True,
    )


def _echo() -> StreamProtocol:
    return StreamProtocol(protocols.echo_reply)


def _banner_echo() -> StreamProtocol:
    return StreamProtocol(protocols.banner_echo_reply, greeting=protocols.BANNER)


def _encoding_option(default: str) -> Option:
    return Option("encoding", default, f"text encoding (default {default})")


def _by_name(*behaviours: Behaviour) -> dict[str, Behaviour]:
    return {behaviour.name: behaviour for behaviour in behaviours}


BEHAVIOURS = _by_name(
    Behaviour(
        "uppercase",
        "udp",
        12000,
        "each datagram comes back upper-cased to its sender (straße -> STRASSE)",
        _uppercase,
        (_encoding_option("utf-8"),),
    ),
    Behaviour(
        "ack",
        "udp",
        8080,
        "each datagram gets the fixed reply 服务端收到信息啦! encoded GBK",
        _ack,
        (_encoding_option("gbk"),),
    ),
    Behaviour(
        "timestamp",
        "tcp",
        11000,
        "each chunk gets time.ctime() + the chunk; the client decides when to close",
        _timestamp,
        (
            Option(
                "format",
                "ctime",
                "reply style: ctime+data or [ctime] data",
                choices=protocols.TIMESTAMP_STYLES,
            ),
        ),
    ),
    Behaviour(
        "welcome_timeout",
        "tcp",
        8001,
        "first chunk exactly '1' gets 'welcome to server!', else 'please go out!'; "
        "then close; idle clients are closed after the timeout",
        _welcome_timeout,
        (
            Option(
                "idle_timeout",
                5.0,
                "seconds to wait for the first chunk (default 5)",
                type=_positive_seconds,
            ),
        ),
    ),
    Behaviour(
        "echo",
        "tcp",
        50007,
        "each chunk gets 'Echo=>' + the chunk until the client closes",
        _echo,
    ),
    Behaviour(
        "banner_echo",
        "tcp",
        8888,
        "a welcome banner on connect, then 'OK...' + each chunk; many clients at once",
        _banner_echo,
    ),
)
