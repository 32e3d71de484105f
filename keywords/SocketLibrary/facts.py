"""What happened to the servers of a run, as facts: the one contract between suites and grader.

``Start Server`` and ``Stop Server`` append one JSON object per line to :data:`FACTS_FILE`
next to output.xml: a server started, did not start (and why), exited on its own (and
when), or was stopped. The grader reads these facts, never the wording of a failure
message, so rewording a message or passing ``alias=`` changes nothing it decides.

Every name of the file is defined here and nowhere else; the writers below and
:func:`read_facts` are the only code that spells them. Robot-free: the grader imports it
without loading Robot Framework. The grader reads the file as untrusted input.
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

FACTS_FILE = "socketkit-facts.jsonl"
VERSION = 1
STARTED, DID_NOT_START, EXITED, STOPPED = "started", "did-not-start", "exited", "stopped"
EVENTS = (STARTED, DID_NOT_START, EXITED, STOPPED)
MAX_BYTES = 1024 * 1024  # far more than any run writes; a bigger file is not ours
MAX_TEXT = 4000  # characters of any one text field

_lock = threading.Lock()  # servers of several suites, and their watchers, share one file


class FactsError(ValueError):
    """The facts file cannot be trusted: the message says where."""


def now() -> str:
    """The local time as Robot Framework writes it in output.xml, so the two compare."""
    return datetime.now().isoformat()


def _append(directory: Path, event: str, server: str, suite: str, fields: dict) -> None:
    record = {"version": VERSION, "event": event, "server": server, "suite": suite, "at": now()}
    line = json.dumps({**record, **fields}, ensure_ascii=True) + "\n"
    with _lock:
        fd = os.open(directory / FACTS_FILE, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        try:
            os.write(fd, line.encode())  # one write: lines of other processes never interleave
        finally:
            os.close(fd)


def server_started(
    directory: Path, server: str, suite: str, command: list[str], log: str, address: str
) -> None:
    _append(directory, STARTED, server, suite, {"command": command, "log": log, "address": address})


def server_did_not_start(
    directory: Path,
    server: str,
    suite: str,
    command: list[str],
    log: str,
    reason: str,
    exit_code: int | None,
) -> None:
    fields = {"command": command, "log": log, "reason": reason, "exit_code": exit_code}
    _append(directory, DID_NOT_START, server, suite, fields)


def server_exited(directory: Path, server: str, suite: str, exit_code: int) -> None:
    """The server ended without being asked to: it crashed, or returned."""
    _append(directory, EXITED, server, suite, {"exit_code": exit_code})


def server_stopped(directory: Path, server: str, suite: str, exit_code: int) -> None:
    _append(directory, STOPPED, server, suite, {"exit_code": exit_code})


@dataclass
class ServerFacts:
    """Everything recorded about one server."""

    server: str
    suite: str = ""  # the full name of the suite that started it
    command: list[str] = field(default_factory=list)
    log: str = ""  # its output, a file next to output.xml
    started_at: datetime | None = None
    not_started: str = ""  # why it did not start, in the library's words
    exit_code: int | None = None
    exited_at: datetime | None = None  # when it ended without being asked to
    stopped: bool = False

    def serves(self, test_full_name: str) -> bool:
        """Whether the test ran in the suite that started this server (or below it)."""
        return test_full_name.startswith(f"{self.suite}.")


def read_facts(path: Path) -> list[ServerFacts]:
    """The servers recorded in ``path`` (none when it does not exist).

    Raises :class:`FactsError` for anything that is not a fact as written above."""
    try:
        with open(path, "rb") as file:
            data = file.read(MAX_BYTES + 1)
    except FileNotFoundError:
        return []
    except OSError as error:
        raise FactsError(f"cannot be read ({error.strerror})") from None
    if len(data) > MAX_BYTES:
        raise FactsError(f"is larger than {MAX_BYTES} bytes")
    servers: dict[str, ServerFacts] = {}
    for number, line in enumerate(data.splitlines(), 1):
        try:
            _apply(json.loads(line), servers)
        except (ValueError, TypeError, KeyError) as error:
            raise FactsError(f"line {number} is not a fact ({error})") from None
    return list(servers.values())


def _apply(record: object, servers: dict[str, ServerFacts]) -> None:
    if not isinstance(record, dict) or record.get("version") != VERSION:
        raise ValueError("not a version 1 record")
    event = record["event"]
    if event not in EVENTS:
        raise ValueError(f"unknown event {event!r}")
    server, suite = _text(record, "server"), _text(record, "suite")
    at = datetime.fromisoformat(_text(record, "at"))
    facts = servers.setdefault(server, ServerFacts(server, suite))
    if event in (STARTED, DID_NOT_START):
        command = record["command"]
        if not (isinstance(command, list) and all(isinstance(arg, str) for arg in command)):
            raise TypeError("command is not a list of strings")
        facts.command = [arg[:MAX_TEXT] for arg in command]
        facts.log = _file_name(_text(record, "log"))
    if event == STARTED:
        facts.started_at = at
    elif event == DID_NOT_START:
        facts.not_started = _text(record, "reason") or "it did not start"
        facts.exit_code = _code(record, optional=True)
    elif event == EXITED:
        facts.exit_code, facts.exited_at = _code(record), at
    else:
        facts.exit_code, facts.stopped = _code(record), True


def _text(record: dict, name: str) -> str:
    value = record[name]
    if not isinstance(value, str):
        raise TypeError(f"{name} is not a string")
    return value[:MAX_TEXT]


def _code(record: dict, *, optional: bool = False) -> int | None:
    value = record["exit_code"]
    if value is None and optional:
        return None
    if type(value) is not int or not -256 < value < 256:
        raise TypeError("exit_code is not an exit code")
    return value


def _file_name(name: str) -> str:
    """A plain file name next to output.xml; nothing that leads elsewhere."""
    if name and (name != os.path.basename(name) or name in (".", "..") or "\0" in name):
        raise ValueError("log is not a plain file name")
    return name
