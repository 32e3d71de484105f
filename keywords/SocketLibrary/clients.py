"""Clients under test: start a program that connects out, feed its stdin, check how it ends.

A mixin of ``SocketLibrary``. The process management is the servers' own
(``processes.ManagedProcess``: a process group, leftovers swept by token, output in files
next to log.html, the grader's sandbox launcher in front of the command); stdout and
stderr are kept apart here, because a client's are checked one by one.
"""

from __future__ import annotations

import os
import re
import time
import weakref
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any, NoReturn

from assertionengine import AssertionOperator, int_str_verify_assertion, verify_assertion
from assertionengine.assertion_engine import handlers
from robot.api import logger
from robot.api.deco import keyword
from robot.utils import ConnectionCache

from .display import quote, seconds_text, shown_command, to_seconds
from .handoff import client_launcher, launcher_from
from .options import looks_named, operator, reject
from .processes import (
    InputFeeder,
    ManagedProcess,
    ProcessError,
    describe_exit,
    split_command,
    wait_for_exit,
)

STREAMS = ("stdout", "stderr")
# How much of a stream a failure message shows.
SHOWN_CHARS = 300


@dataclass
class Client:
    process: ManagedProcess
    label: str
    encoding: str
    timeout: float
    feeder: InputFeeder | None = None
    logged_end: bool = False
    stopped_after: float | None = None  # its age when it was stopped while running
    # Readable once the client has exited, reaped or not (a pidfd, held until it is
    # stopped: a pid looked up later could be another process's).
    exit_fd: int | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        try:
            self.exit_fd = os.pidfd_open(self.process.pid)
        except OSError:  # not registered yet: nothing else would ever stop it
            self.process.stop()
            raise

    @property
    def age(self) -> float:
        return time.monotonic() - self.process.started_at

    def output(self, stream: str) -> str:
        path = self.process.output_path if stream == "stdout" else self.process.error_path
        try:
            data = Path(path).read_bytes()
        except OSError:
            return ""
        return data.decode(self.encoding, errors="replace")

    def wait(self, timeout: float) -> int | None:
        """The exit code, once the client has exited; None if it still runs after
        ``timeout`` seconds."""
        if self.process.popen.poll() is None:
            wait_for_exit({self.process.pid}, timeout)  # woken by the exit itself
        return self.process.popen.poll()

    def stop(self, grace: float) -> int:
        if self.process.popen.poll() is None:
            self.stopped_after = self.age
        try:
            code = self.process.stop(grace)
        finally:
            if self.exit_fd is not None:
                os.close(self.exit_fd)
                self.exit_fd = None
        if self.feeder:
            self.feeder.stop()
        return code

    def state(self) -> str:
        """``exited with code 0``, or ``is still running after 2s``."""
        code = self.process.popen.poll()
        if code is None:
            return f"is still running after {seconds_text(self.age)}"
        if self.stopped_after is not None:
            return f"was stopped while still running, after {seconds_text(self.stopped_after)}"
        return describe_exit(code)


class ClientKeywords:
    """Keywords that run the client under test and check its exit code and output."""

    @property
    def _clients(self) -> ConnectionCache[Client]:
        """This suite's clients, made on first use; stopped at the latest with the suite."""
        clients = self.__dict__.get("_client_cache")
        if clients is None:
            clients = self._client_cache = ConnectionCache("No client started.")
            weakref.finalize(self, _stop_all, clients)
        return clients

    @keyword(tags=["Client"])
    def start_client(
        self,
        command: str | list[str],
        *arguments: str,
        cwd: str | None = None,
        env: dict[str, str] | None = None,
        stdin: str | None = None,
        lines: list[str] | None = None,
        delay: timedelta | str = 0,
        alias: str | None = None,
        timeout: timedelta | str | None = None,
        encoding: str = "UTF-8",
        **unknown: str,
    ) -> int:
        """Start the client under test and return its index; it does not wait for it.

        ``command`` is split like a shell would split it, but no shell runs; a list is
        used as it is. ``arguments`` follow it unchanged. It runs in ``cwd`` (default: the
        current directory) with ``env`` added to the environment, in its own process
        group, with its stdout and stderr in files of their own next to log.html. Under
        the grader, it runs in the same sandbox as a server would, in a copy of the
        submission.

        Its standard input is ``stdin`` as it is, or ``lines``, each followed by a
        newline, ``delay`` apart (a slow typist), and then ends (as Ctrl-D would end
        it). With neither, it reads an empty input.

        ``timeout`` is how long the checks of this client wait for it to exit or print
        (default: the library's timeout). ``encoding`` decodes its output.

        | Start Client | python3 client.py | --port | ${port} | stdin=hello\\n |
        | @{typed} = | Create List | first | second | ${EMPTY} |
        | Start Client | python3 client.py | --port | ${port} | lines=${typed} | delay=0.2s |

        The options are named, and a ``name=value`` that is not one of them fails with
        ``unknown option``: ``timout=2s`` is a typo, not an argument for the client.
        Robot reads any ``=`` written in the call as a named option's, so an ``=`` in the
        command or in an argument is escaped as ``\\=``, as for the Process library's
        ``Start Process``. Values that come from variables, list variables included, are
        passed as they are:
        | Start Client | python3 client.py | --port\\=${port} | mode\\=fast |
        | Start Client | python3 client.py --port\\=${port} |
        | @{arguments} = | Create List | --port=${port} | mode=fast |
        | Start Client | python3 client.py | @{arguments} | timeout=10s |

        See also `Wait For Client`, `Client Output Should Contain`, `Stop Client`.
        """
        if unknown:
            name, value = next(iter(unknown.items()))
            reject(
                self.start_client,
                named=unknown,
                hint=f"An '=' in the client's command or arguments is written as '\\=': "
                f"{name}\\={value}",
            )
        args = [*split_command(command), *arguments]
        pieces = _input_pieces(stdin, lines, encoding)
        # Always ``client-*.log``: the grader finds them by that name.
        output = self._output_file(f"client-{alias}" if alias else "client")
        errors = output.with_name(output.stem + ".stderr.log")
        launcher = client_launcher(launcher_from())
        try:
            process = ManagedProcess(
                args,
                output,
                cwd=cwd,
                env={**os.environ, **env} if env else None,
                launcher=launcher,
                error_path=errors,
                stdin=True,
            )
        except ProcessError as error:
            self._fail(f"client did not start: {error}")
        wait = self._timeout if timeout is None else to_seconds(timeout)
        client = Client(process, alias or "", encoding, wait)
        index = self._clients.register(client, alias)
        client.label = alias or f"client {index}"
        client.feeder = InputFeeder(process.popen.stdin, pieces, to_seconds(delay))
        where = "in its sandbox" if launcher else f"in {Path(cwd or '.').resolve()}"
        logger.info(
            f"Started client {shown_command(args)} (pid {process.pid}) {where}; its stdout "
            f"goes to {output.name}, its stderr to {errors.name}."
        )
        self._transcript.note(client.label, f"started {shown_command(args)}")
        self._transcript.settle()
        return index

    @keyword(tags=["Client"])
    def wait_for_client(
        self, *, timeout: timedelta | None = None, alias: str | None = None, **unknown: str
    ) -> int:
        """Wait until the client exits and return its exit code.

        Fails, and stops the client, when it still runs after ``timeout`` (the client's
        timeout from `Start Client` unless given). Logs the end of its output. The
        newest client, or the one `Switch Client` chose, unless ``alias`` names one.

        | ${code} = | Wait For Client |
        | Wait For Client | timeout=10s | alias=second |

        See also `Get Client Exit Code` and `Client Exit Code Should Be`.
        """
        if unknown:
            reject(self.wait_for_client, named=unknown)
        return self._exited(self._client(alias), timeout)

    @keyword(tags=["Client"])
    def get_client_exit_code(
        self,
        assertion_operator: str | None = None,
        assertion_expected: Any = None,
        *unknown: str,
        timeout: timedelta | None = None,
        alias: str | None = None,
    ) -> Any:
        """Wait until the client exits and return its exit code; like `Wait For Client`.

        With an assertion operator, checks the code, in the Browser library's style (see
        `Assertions`): ``==``, ``!=``, ``<``, ``>``, ``<=``, ``>=`` compare numbers, and
        ``validate`` takes a Python expression of ``value``. A failure says how the
        client ended and shows the end of its output.

        | ${code} = | Get Client Exit Code |
        | Get Client Exit Code | == | 0 |
        | Get Client Exit Code | != | 0 | timeout=10s |
        | Get Client Exit Code | validate | value in (0, 2) | alias=second |

        See also `Client Exit Code Should Be`.
        """
        check = operator(self.get_client_exit_code, assertion_operator, unknown)
        client = self._client(alias)
        code = self._exited(client, timeout)
        if check is None:
            return _unchecked(code, assertion_expected)
        try:
            return int_str_verify_assertion(code, check, assertion_expected)
        except AssertionError:
            wanted = _wanted(check, str(assertion_expected))
            self._fail(
                f"Expected the client's exit code {wanted}, but it {describe_exit(code)}"
                f"{_tail(client)}"
            )
        except ValueError as error:  # an operator for text, such as contains
            raise ValueError(f"{error} An exit code is compared as a number.") from None

    @keyword(tags=["Client"])
    def client_exit_code_should_be(
        self,
        expected: int,
        *unknown: str,
        timeout: timedelta | None = None,
        alias: str | None = None,
    ) -> None:
        """Wait until the client exits, and check its exit code.

        | Client Exit Code Should Be | 0 |
        | Client Exit Code Should Be | 2 | timeout=10s | alias=second |

        See also `Client Exit Code Should Not Be`, `Get Client Exit Code` and
        `Wait For Client`.
        """
        if unknown:
            reject(self.client_exit_code_should_be, unknown)
        client = self._client(alias)
        code = self._exited(client, timeout)
        if code != expected:
            self._fail(
                f"Expected the client to exit with code {expected}, but it "
                f"{describe_exit(code)}{_tail(client)}"
            )

    @keyword(tags=["Client"])
    def client_exit_code_should_not_be(
        self,
        unexpected: int,
        *unknown: str,
        timeout: timedelta | None = None,
        alias: str | None = None,
    ) -> None:
        """Wait until the client exits, and check that its exit code is not ``unexpected``.

        | Client Exit Code Should Not Be | 0 |
        | Client Exit Code Should Not Be | 0 | timeout=10s | alias=second |

        See also `Client Exit Code Should Be` and `Get Client Exit Code`.
        """
        if unknown:
            reject(self.client_exit_code_should_not_be, unknown)
        client = self._client(alias)
        code = self._exited(client, timeout)
        if code == unexpected:
            self._fail(
                f"Expected the client to exit with a code other than {unexpected}, but it "
                f"{describe_exit(code)}{_tail(client)}"
            )

    @keyword(tags=["Client"])
    def client_output_should_contain(
        self,
        expected: str,
        *unknown: str,
        stream: str = "stdout",
        timeout: timedelta | None = None,
        alias: str | None = None,
    ) -> None:
        """Check that the client prints ``expected`` on ``stream`` (``stdout`` or ``stderr``).

        Passes as soon as the text appears, while the client still runs; fails when the
        client exits, or ``timeout`` passes, without having printed it.

        | Client Output Should Contain | HELLO WORLD |
        | Client Output Should Contain | refused | stream=stderr | timeout=2s |

        See also `Client Output Should Be`, `Client Output Should Match` and
        `Get Client Output`.
        """
        if unknown:
            reject(self.client_output_should_contain, unknown)
        client = self._client(alias)
        stream = _checked_stream(stream)
        wait = client.timeout if timeout is None else to_seconds(timeout)
        deadline = time.monotonic() + wait
        pause = 0.002
        while expected not in client.output(stream):
            if client.process.popen.poll() is not None and expected not in client.output(stream):
                self._output_failure(client, stream, f"to contain {quote(expected)}")
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                self._output_failure(client, stream, f"to contain {quote(expected)}")
            client.wait(min(pause, remaining))  # wakes early if the client exits
            pause = min(pause * 2, 0.05)

    @keyword(tags=["Client"])
    def client_output_should_be(
        self,
        expected: str,
        *unknown: str,
        stream: str = "stdout",
        timeout: timedelta | None = None,
        alias: str | None = None,
    ) -> None:
        """Wait until the client exits, and check that ``stream`` is exactly ``expected``.

        | Client Output Should Be | HELLO WORLD\\n |
        | Client Output Should Be | ${EMPTY} | stream=stderr |

        See also `Get Client Output`, which checks with any assertion operator.
        """
        if unknown:
            reject(self.client_output_should_be, unknown)
        client = self._client(alias)
        stream = _checked_stream(stream)
        self._exited(client, timeout)
        if client.output(stream) != expected:
            self._output_failure(client, stream, f"to be {quote(expected)}")

    @keyword(tags=["Client"])
    def client_output_should_match(
        self,
        regexp: str,
        *unknown: str,
        stream: str = "stdout",
        timeout: timedelta | None = None,
        alias: str | None = None,
    ) -> str:
        """Wait until the client exits, check that ``stream`` contains a match of
        ``regexp`` (Python ``re.search``, as BuiltIn's `Should Match Regexp`), and return
        the match.

        | ${line} = | Client Output Should Match | Client received: .*hello |
        | Client Output Should Match | Errno \\\\d+ | stream=stderr |
        """
        if unknown:
            reject(self.client_output_should_match, unknown)
        client = self._client(alias)
        stream = _checked_stream(stream)
        self._exited(client, timeout)
        found = re.search(regexp, client.output(stream), re.MULTILINE)
        if not found:
            self._output_failure(client, stream, f"to match {quote(regexp)}")
        return found.group()

    @keyword(tags=["Client"])
    def get_client_output(
        self,
        stream: str = "stdout",
        assertion_operator: str | None = None,
        assertion_expected: Any = None,
        *unknown: str,
        timeout: timedelta | None = None,
        alias: str | None = None,
    ) -> Any:
        """Wait until the client exits and return what it printed on ``stream``
        (``stdout`` or ``stderr``).

        With an assertion operator and expected value after ``stream``, checks the
        output, in the Browser library's style (see `Assertions`): ``==`` the whole
        output, ``contains``, ``not contains``, ``^=`` (starts with), ``$=`` (ends with),
        ``matches`` (a Python ``re.search``, with ``^`` and ``$`` at each line's ends, as
        in `Client Output Should Match`; returns the groups if the pattern has any),
        ``validate``... A failure shows the end of what it printed and how it ended.

        It checks once the client has exited: to pass as soon as a text appears, while
        the client still runs, use `Client Output Should Contain`.

        | ${printed} = | Get Client Output |
        | ${errors} = | Get Client Output | stderr |
        | Get Client Output | stdout | == | HELLO WORLD\\n |
        | Get Client Output | stdout | contains | Client received: |
        | Get Client Output | stderr | not contains | Traceback | alias=second |
        | ${code} = | Get Client Output | stdout | matches | status (\\\\d+) |
        | Get Client Output | stdout | validate | len(value.splitlines()) == 3 |
        """
        if looks_named(stream):
            reject(self.get_client_output, (stream, *unknown))
        check = operator(self.get_client_output, assertion_operator, unknown)
        client = self._client(alias)
        stream = _checked_stream(stream)
        self._exited(client, timeout)
        output = client.output(stream)
        if check is None:
            return _unchecked(output, assertion_expected)
        wanted = _wanted(check, quote(str(assertion_expected)))
        # Line by line, as Client Output Should Match: the engine's ``matches`` is a plain
        # re.search, whose ^ and $ would match only at the ends of the whole output.
        if check is AssertionOperator["matches"]:
            assertion_expected = f"(?m){assertion_expected}"
        try:
            return verify_assertion(output, check, assertion_expected)
        except AssertionError:
            self._output_failure(client, stream, wanted)

    @keyword(tags=["Client"])
    def switch_client(self, alias: str) -> int | None:
        """Make another client current and return the index of the previous one.

        | Start Client | python3 client.py | alias=first |
        | Start Client | python3 client.py | alias=second |
        | Switch Client | first |
        """
        previous = self._clients.current_index
        try:
            self._clients.switch(alias)
        except RuntimeError as error:
            self._fail(str(error))
        return previous

    @keyword(tags=["Client"])
    def stop_client(
        self, alias: str | None = None, *, grace: timedelta | str = "2s", **unknown: str
    ) -> int:
        """Stop the client and every process it started; return its exit code.

        TERM first, KILL after ``grace``. The newest client unless ``alias`` names one.

        | Stop Client |
        | ${code} = | Stop Client | second | grace=5s |
        """
        if unknown:
            reject(self.stop_client, named=unknown)
        client = self._client(alias)
        code = client.stop(to_seconds(grace))
        self._log_end(client)
        return code

    @keyword(tags=["Client"])
    def stop_all_clients(self, *, grace: timedelta | str = "2s", **unknown: str) -> None:
        """Stop every client this suite started that still runs. Use it in teardowns.

        | [Teardown] | Stop All Clients |
        | [Teardown] | Stop All Clients | grace=5s |
        """
        if unknown:
            reject(self.stop_all_clients, named=unknown)
        for client in self._clients:
            client.stop(to_seconds(grace))
            self._log_end(client)
        self._clients.empty_cache()

    # --- shared ---------------------------------------------------------------------------

    def _watched_client(self) -> Client | None:
        """The client a wait is for, when that is certain: the only one started and not
        stopped. A wait for what it should do (connect, send) ends when it exits, because
        then that can no longer come. With two or more, the data may be another's."""
        running = [client for client in self._clients if not client.process.stopped]
        return running[0] if len(running) == 1 else None

    def _client_failure(self, client: Client, message: str, where: Any = None) -> NoReturn:
        self._log_end(client)
        self._fail(message + _tail(client), where)

    def _client(self, alias: str | None) -> Client:
        try:
            return self._clients.get_connection(alias)
        except RuntimeError as error:
            self._fail(str(error))

    def _exited(self, client: Client, timeout: timedelta | None) -> int:
        wait = client.timeout if timeout is None else to_seconds(timeout)
        code = client.wait(wait)
        if code is None:
            client.stop(1.0)
            self._log_end(client)
            self._fail(
                f"The client did not exit within {seconds_text(wait)}; it was stopped"
                f"{_tail(client)}"
            )
        if client.feeder:
            client.feeder.stop()
        self._log_end(client)
        return code

    def _log_end(self, client: Client) -> None:
        if client.logged_end:
            return
        client.logged_end = True
        self._transcript.note(client.label, client.state())
        self._transcript.flush()
        logger.info(f"Client {shown_command(client.process.args)} {client.state()}.{_tail(client)}")

    def _output_failure(self, client: Client, stream: str, wanted: str) -> NoReturn:
        printed = client.output(stream)
        shown = quote(printed[-SHOWN_CHARS:])
        cut = f"... {shown} (the last {SHOWN_CHARS} characters)" if len(printed) > 300 else shown
        what = f"printed {cut}" if printed else "printed nothing"
        self._fail(f"Expected the client's {stream} {wanted}, but it {what} and {client.state()}")


def _stop_all(clients: ConnectionCache) -> None:
    for client in clients:
        with suppress(ProcessError):
            client.stop(0.5)
    clients.empty_cache()


def _input_pieces(stdin: str | None, lines: list[str] | None, encoding: str) -> list[bytes]:
    if stdin is not None and lines is not None:
        raise ValueError("give the client's input as stdin or as lines, not both")
    if lines is not None:
        if isinstance(lines, str):
            raise ValueError("lines must be a list, such as @{lines} or ${lines}")
        return [f"{line}\n".encode(encoding) for line in lines]
    return [stdin.encode(encoding)] if stdin else []


def _unchecked(value: Any, expected: Any) -> Any:
    """A getter's value when no assertion operator was given; nor may a value be."""
    if expected is not None:
        raise ValueError(f"{quote(str(expected))} needs an assertion operator before it")
    return value


def _wanted(check: AssertionOperator, shown: str) -> str:
    """``to contain 'x'`` or ``not to be 0``: what a failed check expected."""
    verb = handlers[check][1] if check in handlers else str(check.value)
    for should, to in (("should not ", "not to "), ("should ", "to ")):
        if verb.startswith(should):
            return f"{to}{verb.removeprefix(should)} {shown}"
    return f"{verb} {shown}"


def _checked_stream(stream: str) -> str:
    stream = stream.lower()
    if stream not in STREAMS:
        raise ValueError(f"stream must be stdout or stderr, not {stream!r}")
    return stream


def _tail(client: Client) -> str:
    """The end of both streams, for a log line or a failure message."""
    parts = []
    for stream, errors in (("stdout", False), ("stderr", True)):
        tail = client.process.output_tail(max_lines=10, max_bytes=1000, errors=errors)
        parts.append(f"\nIts {stream} ends with:\n{tail}" if tail else f"\nIts {stream} is empty.")
    return "".join(parts)
