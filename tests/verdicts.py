"""The verdict each server under test must get from its suite: the discrimination matrix.

Targets are the variants in ``tests/variants.py`` (``echo.slow``) and the ports of the
seed programs in ``tests/seeds/`` (``echo.seed``). A correct target passes its suite; a
faulty one fails exactly the tests its bug breaks, and nothing else. Tests tagged
``beyond-seed`` run only with ``BEYOND_SEED:true`` and are skipped otherwise: every
correct target passes them, except the ones that serve one client at a time as their
seed program does, which fail exactly those.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable, Iterable
from pathlib import Path

from robot.api import ExecutionResult
from robot.api import TestSuiteBuilder as SuiteBuilder

from services import BEHAVIOURS
from tests.helpers import ROOT, SUITES, run_robot, verdict_differences
from tests.variants import VARIANTS

# Short waits keep the matrix quick; the suites scale every wait from these.
FAST = {"IDLE_TIMEOUT": "1", "REPLY_TIMEOUT": "1s"}
BEYOND_SEED = {"BEYOND_SEED": "true"}

SEEDS = tuple(f"{behaviour}.seed" for behaviour in BEHAVIOURS)
# Correct, but they serve one client at a time, as the seed programs of these behaviours do.
ONE_AT_A_TIME = frozenset(
    {"echo.seed", "timestamp.seed", "welcome_timeout.seed", "welcome_timeout.one_at_a_time"}
)
CORRECT = tuple(sorted([*SEEDS, *(name for name, v in VARIANTS.items() if v.correct)]))


def behaviour_of(target: str) -> str:
    return target.split(".", maxsplit=1)[0]


@functools.cache
def suite_tests(behaviour: str) -> dict[str, bool]:
    """Every test of the behaviour's suite, in order: whether it goes beyond the seed."""
    suite = SuiteBuilder().build(str(SUITES / f"{behaviour}.robot"))
    return {test.name: "beyond-seed" in test.tags for test in suite.tests}


def beyond_seed_tests(behaviour: str) -> set[str]:
    return {name for name, beyond in suite_tests(behaviour).items() if beyond}


def demanded_tests(behaviour: str, beyond_seed: bool = False) -> set[str]:
    """The tests a run demands: all of them with BEYOND_SEED, else those within the seed."""
    return {name for name, beyond in suite_tests(behaviour).items() if beyond_seed or not beyond}


def everything_but(*passing: str) -> Callable[[Iterable[str]], set[str]]:
    return lambda names: set(names) - set(passing)


ALL = everything_but()

# What each faulty variant fails by default (BEYOND_SEED off). ALL and everything_but()
# count only the tests that such a run demands.
EXPECTED_FAILURES = {
    "uppercase.ascii_only": {
        "Sharp S Becomes Double S",
        "Accented Letters Are Upper-Cased",
        "Greek And Cyrillic Letters Are Upper-Cased",
    },
    "uppercase.trailing_newline": ALL,
    "uppercase.wrong_port": ALL,
    "uppercase.crashes_on_invalid_utf8": {"Invalid UTF-8 Does Not Stop The Server"},
    "uppercase.silent": ALL,
    "ack.utf8_reply": ALL,
    "ack.echoes_data": ALL,
    "ack.missing_exclamation_mark": ALL,
    "ack.crashes_on_invalid_gbk": {"Invalid GBK Does Not Stop The Server"},
    "ack.first_client_only": everything_but("English Text Is Acknowledged"),
    "ack.silent": ALL,
    "timestamp.no_timestamp": ALL,
    "timestamp.data_first": ALL,
    "timestamp.space_separated": ALL,
    "timestamp.utc_clock": ALL,
    "timestamp.closes_after_reply": {"Several Messages On One Connection Are Each Answered"},
    "timestamp.one_client_only": everything_but("A Short Message Gets The Time"),
    "timestamp.trailing_newline": {
        "Several Messages On One Connection Are Each Answered",
        "The Server Closes After The Client Has Finished Sending",
    },
    "timestamp.never_closes": {"The Server Closes After The Client Has Finished Sending"},
    "timestamp.crashes_on_reset": {
        "A Client That Resets Mid-Conversation Does Not Stop The Server"
    },
    "timestamp.silent": ALL,
    "welcome_timeout.no_idle_timeout": {
        "An Idle Client Is Disconnected After The Idle Timeout, Not Before",
        "The Server Keeps Serving After An Idle Timeout",
    },
    "welcome_timeout.short_timeout": {
        "An Idle Client Is Disconnected After The Idle Timeout, Not Before"
    },
    "welcome_timeout.trailing_newline": everything_but(
        "An Idle Client Is Disconnected After The Idle Timeout, Not Before",
    ),
    "welcome_timeout.strips_input": {
        "1 With A Newline Is Sent Away",
        "1 With A Leading Space Is Sent Away",
    },
    "welcome_timeout.no_close": everything_but(
        "An Idle Client Is Disconnected After The Idle Timeout, Not Before",
    ),
    "welcome_timeout.silent": ALL,
    "echo.missing_prefix": ALL,
    "echo.trailing_newline": {
        "Several Messages On One Connection Are Each Echoed",
        "The Server Closes After The Client Has Finished Sending",
    },
    "echo.closes_after_reply": {"Several Messages On One Connection Are Each Echoed"},
    "echo.crashes_on_reset": {"A Client That Resets Mid-Conversation Does Not Stop The Server"},
    "echo.one_client_only": everything_but("A Word Is Echoed"),
    "echo.never_closes": {"The Server Closes After The Client Has Finished Sending"},
    "echo.drops_invalid_utf8": {"Bytes That Are Not UTF-8 Are Echoed Unchanged"},
    "echo.silent": ALL,
    "banner_echo.no_banner": ALL,
    "banner_echo.banner_without_newline": ALL,
    "banner_echo.wrong_prefix": everything_but("The Banner Arrives On Connect"),
    "banner_echo.trailing_nul": {
        "Several Messages On One Connection Are Each Answered",
        "Five Clients At Once Are Served Side By Side",
        "The Server Closes After The Client Has Finished Sending",
    },
    "banner_echo.drops_invalid_utf8": {"Bytes That Are Not UTF-8 Get OK Unchanged"},
    "banner_echo.never_closes": {"The Server Closes After The Client Has Finished Sending"},
    "banner_echo.one_at_a_time": {
        "Five Clients At Once Are Served Side By Side",
        "One Client Leaving Does Not Affect The Others",
    },
    "banner_echo.silent": ALL,
}
# A time zone away from UTC, so that a server printing UTC is caught (POSIX TZ: no tzdata).
ENVIRONMENTS = {"timestamp.utc_clock": {"TZ": "CST-8"}}


def expected_failures(target: str, beyond_seed: bool = False) -> set[str]:
    behaviour = behaviour_of(target)
    if target in EXPECTED_FAILURES:
        if beyond_seed:
            raise ValueError(f"{target}: faulty variants are judged with BEYOND_SEED off")
        expected = EXPECTED_FAILURES[target]
        return expected(demanded_tests(behaviour)) if callable(expected) else set(expected)
    if target not in CORRECT:
        raise ValueError(f"unknown target {target!r}")
    return beyond_seed_tests(behaviour) if beyond_seed and target in ONE_AT_A_TIME else set()


def server_variables(target: str, idle_timeout: float) -> dict[str, str]:
    """SERVER_CMD, SERVER_CWD and PORT that make a suite start the target on any port."""
    behaviour, kind = target.split(".", 1)
    if kind == "seed":
        command = f"{sys.executable} tests/seeds/{behaviour}.py 0"
    else:
        command = (
            f"{sys.executable} -m tests.variants {target} --port 0 --idle-timeout {idle_timeout:g}"
        )
    return {"SERVER_CMD": command, "SERVER_CWD": str(ROOT), "PORT": "0"}


def run_target(
    target: str, outputdir: Path, *, fast: bool = True, beyond_seed: bool = False
) -> ExecutionResult:
    """Run the target's suite against it, as a grader would. The seed ports have their
    seed's own idle timeout (5 s), so they always run with the suites' default waits."""
    timing = FAST if fast and not target.endswith(".seed") else {}
    variables = {
        **timing,
        **(BEYOND_SEED if beyond_seed else {}),
        **server_variables(target, float(timing.get("IDLE_TIMEOUT", 5))),
    }
    return run_robot(behaviour_of(target), outputdir, variables, env=ENVIRONMENTS.get(target))


def verdict_problems(result: ExecutionResult, target: str, beyond_seed: bool = False) -> str:
    """What is wrong with the run's verdict for the target; empty when it is exactly right."""
    behaviour = behaviour_of(target)
    skipped = set() if beyond_seed else beyond_seed_tests(behaviour)
    failed = expected_failures(target, beyond_seed)
    return verdict_differences(result, set(suite_tests(behaviour)), failed, skipped)
