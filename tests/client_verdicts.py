"""The verdict each client under test must get from its suite: the clients' discrimination
matrix.

Targets are the reference clients (``echo.reference``) and the variants in
``tests/client_variants.py`` (``echo.with_newline``). A correct target passes its suite;
a faulty one fails exactly the tests its bug breaks, and nothing else.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable, Iterable
from pathlib import Path

from robot.api import ExecutionResult
from robot.api import TestSuiteBuilder as SuiteBuilder

from tests.client_variants import VARIANTS
from tests.helpers import ROOT, SUITES, run_robot, verdict_differences

CLIENT_SUITES = SUITES / "clients"
CLIENT_NAMES = ("uppercase", "ack", "timestamp", "welcome", "echo", "http")
# Short waits keep the matrix quick: a faulty client's tests mostly wait for what never comes.
FAST = {"CLIENT_TIMEOUT": "3s", "REPLY_TIMEOUT": "1s"}

REFERENCES = tuple(f"{name}.reference" for name in CLIENT_NAMES)
CORRECT = tuple(sorted([*REFERENCES, *(name for name, v in VARIANTS.items() if v.correct)]))


def client_of(target: str) -> str:
    return target.split(".", maxsplit=1)[0]


@functools.cache
def suite_tests(client: str) -> tuple[str, ...]:
    suite = SuiteBuilder().build(str(CLIENT_SUITES / f"{client}.robot"))
    return tuple(test.name for test in suite.tests)


def everything_but(*passing: str) -> Callable[[Iterable[str]], set[str]]:
    return lambda names: set(names) - set(passing)


ALL = everything_but()
REFUSED = "A Refused Connection Is Reported"

EXPECTED_FAILURES = {
    "uppercase.with_newline": {
        "A Sentence Is Sent And Its Reply Printed",
        "Non-ASCII Text Is Sent And Printed As Text",
        "It Exits With Code 0 After Printing The Reply",
    },
    "uppercase.hard_coded_port": everything_but("It Prompts For The Sentence"),
    "uppercase.no_prompt": {"It Prompts For The Sentence"},
    "ack.with_newline": ALL,
    "ack.decodes_utf8": {"The Acknowledgement Is Printed Decoded From GBK"},
    "ack.hard_coded_port": ALL,
    "timestamp.with_newline": {
        "Each Typed Line Is Sent And Its Reply Printed",
        "An Empty Line Ends The Session And Closes The Connection",
    },
    "timestamp.partial_reply": {
        "A Reply Split In Segments Is Printed Whole",
        "A Long Reply Is Printed Whole",
    },
    "timestamp.never_closes": {"An Empty Line Ends The Session And Closes The Connection"},
    "timestamp.hard_coded_port": everything_but(REFUSED),
    "timestamp.ignores_errors": {REFUSED},
    "welcome.with_newline": {"It Waits Before Sending Exactly 1"},
    "welcome.no_wait": {"It Waits Before Sending Exactly 1"},
    "welcome.hard_coded_port": ALL,  # the suite setup's client never connects
    "welcome.ignores_errors": {REFUSED},
    "echo.with_newline": {
        "Each Message Is Sent And Each Reply Printed",
        "It Closes The Connection After The Last Reply",
    },
    "echo.partial_reply": {
        "A Reply Split In Segments Is Printed Whole",
        "A Long Reply Is Printed Whole",
    },
    "echo.never_closes": {"It Closes The Connection After The Last Reply"},
    "echo.hard_coded_port": everything_but(REFUSED),
    "echo.ignores_errors": {REFUSED},
    "http.no_blank_line": {
        "It Sends A GET Request For The Root",
        "It Prints The Whole Response Until The Server Closes",
    },
    "http.partial_reply": {"It Prints The Whole Response Until The Server Closes"},
    "http.hard_coded_port": everything_but(REFUSED, "A Host That Does Not Resolve Is Reported"),
    "http.ignores_errors": {REFUSED, "A Host That Does Not Resolve Is Reported"},
}


def expected_failures(target: str) -> set[str]:
    if target in EXPECTED_FAILURES:
        expected = EXPECTED_FAILURES[target]
        return expected(suite_tests(client_of(target))) if callable(expected) else set(expected)
    if target not in CORRECT:
        raise ValueError(f"unknown target {target!r}")
    return set()


def client_variables(target: str) -> dict[str, str]:
    """CLIENT_CMD and CLIENT_CWD that make a suite run the target; none for a reference."""
    if target.endswith(".reference"):
        return {}
    return {
        "CLIENT_CMD": f"{sys.executable} -m tests.client_variants {target}",
        "CLIENT_CWD": str(ROOT),
    }


def run_target(target: str, outputdir: Path, *, fast: bool = True) -> ExecutionResult:
    """Run the target's client suite against it, as a grader would."""
    variables = {**(FAST if fast else {}), **client_variables(target)}
    return run_robot(CLIENT_SUITES / f"{client_of(target)}.robot", outputdir, variables)


def verdict_problems(result: ExecutionResult, target: str) -> str:
    """What is wrong with the run's verdict for the target; empty when it is exactly right
    (client suites skip nothing)."""
    tests = set(suite_tests(client_of(target)))
    return verdict_differences(result, tests, expected_failures(target), set())
