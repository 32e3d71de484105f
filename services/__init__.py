"""Reference servers for the six behaviours of the socket acceptance kit, and reference
clients for the six seed clients.

``python -m services NAME`` runs a server from the command line; ``serve(NAME)`` runs one
in-process for tests and tools. ``python -m services.clients NAME`` runs a client. The
names below load on first use, so a client starts without the servers' machinery.
"""

from __future__ import annotations

__all__ = ["BEHAVIOURS", "Behaviour", "Server", "serve"]


def __getattr__(name: str) -> object:
    if name in ("BEHAVIOURS", "Behaviour"):
        from . import behaviours  # noqa: PLC0415 - loaded on first use

        return getattr(behaviours, name)
    if name in ("Server", "serve"):
        from . import runner  # noqa: PLC0415 - loaded on first use

        return getattr(runner, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
