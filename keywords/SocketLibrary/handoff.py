"""What the grader hands to the keyword library, by name. Robot-free: both sides import it.

The grader runs ``robot`` with these environment variables set; suites know nothing of
them, so a suite runs the same under the grader and on its own.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping

# A JSON list of strings: the command line that ``Start Server`` puts in front of the
# server's own command, so that the grader's launcher starts it in a sandbox. Messages and
# logs show only the server's own command.
LAUNCHER_VARIABLE = "SOCKETLIBRARY_SERVER_LAUNCHER"


def launcher_from(environment: Mapping[str, str] = os.environ) -> list[str]:
    """The launcher's command line, or ``[]`` when servers start as they are."""
    text = environment.get(LAUNCHER_VARIABLE, "")
    if not text:
        return []
    launcher = json.loads(text)
    if not (isinstance(launcher, list) and launcher and all(isinstance(a, str) for a in launcher)):
        raise ValueError(f"{LAUNCHER_VARIABLE} must be a JSON list of strings")
    return launcher


def launcher_environment(launcher: list[str]) -> dict[str, str]:
    """The variable that makes ``Start Server`` use ``launcher``."""
    return {LAUNCHER_VARIABLE: json.dumps(launcher)}


# What ``Start Client`` adds to the launcher's options: a client is done when its command
# exits, so the launcher then ends the sandbox instead of waiting for what it left behind
# (a server that daemonizes keeps running; a client's daemon is a leftover).
ENDS_WITH_COMMAND = "--ends-with-command"


def client_launcher(launcher: list[str]) -> list[str]:
    """The launcher's command line for a client: its options, then the client's flag."""
    if not launcher:
        return []
    if launcher[-1] == "--":
        return [*launcher[:-1], ENDS_WITH_COMMAND, "--"]
    return [*launcher, ENDS_WITH_COMMAND]
