"""The library's rules for unknown options and assertion operators, for the keywords of
its mixins (``clients``, ``listening``).

The rules themselves live in ``library.py``, next to the keywords that use them most;
``library.py`` imports the mixins, so they are reached here at call time, when every
module is loaded.
"""

from __future__ import annotations

from typing import Any, NoReturn


def reject(method: Any, extra: tuple = (), named: dict | None = None, hint: str = "") -> NoReturn:
    """Fail a keyword called with arguments it does not take (``unknown option``); the
    ``hint`` ends the message."""
    from .library import OptionError, _reject  # noqa: PLC0415 - library.py imports our users

    try:
        _reject(method, extra, named)
    except OptionError as error:
        if not hint:
            raise
        raise OptionError(f"{error}. {hint}") from None


def operator(method: Any, value: str | None, unknown: tuple) -> Any:
    """A getter's assertion operator, or None; a mistyped option is an unknown option."""
    from .library import _operator  # noqa: PLC0415 - as above

    return _operator(method, value, unknown)


def looks_named(item: object) -> bool:
    """Whether ``item`` reads as ``name=value`` for an option's name."""
    from .library import _looks_named  # noqa: PLC0415 - as above

    return _looks_named(item)
