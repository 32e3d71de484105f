"""SocketLibrary: Robot Framework keywords for TCP and UDP conversations.

``Library    SocketLibrary`` imports the keyword class. The modules beside it
(``SocketLibrary.transport``, ``SocketLibrary.processes``) do not need Robot Framework, so
the grader imports them without loading it: the class is loaded on first use.
"""

from __future__ import annotations

from pathlib import Path

__version__ = "1.0.0"
__all__ = ["SocketFailure", "SocketLibrary"]
# The target contract and the conversation steps every suite shares; a suite anywhere
# imports them with ``Resource    ${{ SocketLibrary.TARGET_RESOURCE }}``.
TARGET_RESOURCE = str(Path(__file__).with_name("target.resource"))
# The same for client suites: ``Resource    ${{ SocketLibrary.CLIENT_RESOURCE }}``.
CLIENT_RESOURCE = str(Path(__file__).with_name("client.resource"))


def __getattr__(name: str) -> object:
    if name in __all__:
        from . import library  # noqa: PLC0415 - loads Robot Framework only when needed

        return getattr(library, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
