"""The acceptance suites: they pass on correct servers and catch every shipped bug.

Each suite runs in its own ``robot`` process, as graders and CI run it: against the
bundled reference server, against a server given by HOST/PORT, and against every variant
in ``tests/variants.py`` through SERVER_CMD/PORT. For each faulty variant the exact set
of failing tests is asserted, so a suite that stops catching a bug, or starts blaming the
wrong requirement, fails here.
"""

from __future__ import annotations

import sys

import pytest
from robot.api import TestSuiteBuilder as SuiteBuilder

from services import BEHAVIOURS, serve
from tests.helpers import ROOT, SUITES, failed_tests, run_robot
from tests.variants import VARIANTS

# Starts processes: left out of the quick loop, pytest -m "not slow".
pytestmark = pytest.mark.slow

# Short waits keep the matrix quick; the suites scale every wait from these.
FAST = {"IDLE_TIMEOUT": "1", "REPLY_TIMEOUT": "1s"}


def suite_test_names(behaviour: str) -> list[str]:
    suite = SuiteBuilder().build(str(SUITES / f"{behaviour}.robot"))
    return [test.name for test in suite.tests]


def variant_variables(name: str) -> dict[str, str]:
    command = f"{sys.executable} -m tests.variants {name} --port 0 --idle-timeout 1"
    return {**FAST, "SERVER_CMD": command, "SERVER_CWD": str(ROOT), "PORT": "0"}


# --- correct servers pass --------------------------------------------------------------------


@pytest.mark.parametrize("behaviour", BEHAVIOURS)
def test_reference_server_passes_every_test(behaviour, tmp_path):
    result = run_robot(behaviour, tmp_path, FAST)
    assert failed_tests(result) == set()
    assert len(result.suite.tests) == len(suite_test_names(behaviour)) >= 6


@pytest.mark.parametrize("behaviour", BEHAVIOURS)
def test_a_running_server_given_by_host_and_port(behaviour, tmp_path):
    options = {"idle_timeout": 1} if behaviour == "welcome_timeout" else {}
    with serve(behaviour, **options) as (host, port):
        result = run_robot(behaviour, tmp_path, {**FAST, "HOST": host, "PORT": str(port)})
    assert failed_tests(result) == set()


def test_reference_server_through_server_cmd(tmp_path):
    command = f"{sys.executable} -m services echo --port 0"
    result = run_robot(
        "echo", tmp_path, {"SERVER_CMD": command, "SERVER_CWD": str(ROOT), "PORT": "0"}
    )
    assert failed_tests(result) == set()


AWKWARD = sorted(name for name, variant in VARIANTS.items() if variant.correct)


@pytest.mark.parametrize("name", AWKWARD)
def test_awkward_but_correct_variant_passes(name, tmp_path):
    result = run_robot(VARIANTS[name].behaviour, tmp_path, variant_variables(name))
    assert failed_tests(result) == set()


# --- faulty servers fail, on the requirement they break ------------------------------------


def everything_but(*passing: str):
    return lambda names: set(names) - set(passing)


ALL = everything_but()

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
        "An Idle Client Does Not Delay Another Client",
    ),
    "welcome_timeout.strips_input": {
        "1 With A Newline Is Sent Away",
        "1 With A Leading Space Is Sent Away",
    },
    "welcome_timeout.no_close": everything_but(
        "An Idle Client Is Disconnected After The Idle Timeout, Not Before",
        "An Idle Client Does Not Delay Another Client",
    ),
    "welcome_timeout.one_at_a_time": {"An Idle Client Does Not Delay Another Client"},
    "welcome_timeout.silent": ALL,
    "echo.missing_prefix": ALL,
    "echo.trailing_newline": {"Several Messages On One Connection Are Each Echoed"},
    "echo.closes_after_reply": {"Several Messages On One Connection Are Each Echoed"},
    "echo.crashes_on_reset": {"A Client That Resets Mid-Conversation Does Not Stop The Server"},
    "echo.one_client_only": everything_but("A Word Is Echoed"),
    "echo.silent": ALL,
    "banner_echo.no_banner": ALL,
    "banner_echo.banner_without_newline": ALL,
    "banner_echo.wrong_prefix": everything_but("The Banner Arrives On Connect"),
    "banner_echo.one_at_a_time": {
        "Five Clients At Once Are Served Side By Side",
        "One Client Leaving Does Not Affect The Others",
    },
    "banner_echo.silent": ALL,
}
# A time zone away from UTC, so that a server printing UTC is caught (POSIX TZ: no tzdata).
ENVIRONMENTS = {"timestamp.utc_clock": {"TZ": "CST-8"}}


def test_every_variant_has_an_expectation():
    faulty = {name for name, variant in VARIANTS.items() if not variant.correct}
    assert faulty == set(EXPECTED_FAILURES)
    per_behaviour = {
        behaviour: sum(
            v.behaviour == behaviour
            for v in VARIANTS.values()
            if not v.correct and not v.name.endswith(".silent")
        )
        for behaviour in BEHAVIOURS
    }
    assert min(per_behaviour.values()) >= 3, per_behaviour


@pytest.mark.parametrize("name", sorted(EXPECTED_FAILURES))
def test_faulty_variant_fails_exactly_the_tests_it_breaks(name, tmp_path):
    behaviour = VARIANTS[name].behaviour
    expected = EXPECTED_FAILURES[name]
    if callable(expected):
        expected = expected(suite_test_names(behaviour))
    result = run_robot(behaviour, tmp_path, variant_variables(name), env=ENVIRONMENTS.get(name))
    assert failed_tests(result) == expected


def test_reference_passes_in_the_time_zone_that_catches_utc(tmp_path):
    result = run_robot("timestamp", tmp_path, FAST, env={"TZ": "CST-8"})
    assert failed_tests(result) == set()


# --- the target contract's failure modes ----------------------------------------------------


def test_server_that_does_not_start_fails_every_test_quickly(tmp_path):
    command = f"{sys.executable} -c \"import sys; print('SyntaxError: oops'); sys.exit(1)\""
    result = run_robot("echo", tmp_path, {"SERVER_CMD": command, "PORT": "18007"})
    assert failed_tests(result) == set(suite_test_names("echo"))
    message = result.suite.tests[0].message
    assert message.startswith(
        "Parent suite setup failed:\nserver did not start: exited with "
        "code 1 before listening on tcp port 18007"
    )
    assert message.endswith("SyntaxError: oops")
    assert result.suite.elapsed_time.total_seconds() < 10


def test_server_cmd_without_port_is_a_clear_error(tmp_path):
    result = run_robot("echo", tmp_path, {"SERVER_CMD": "python3 server.py"})
    assert result.suite.tests[0].message == (
        "Parent suite setup failed:\nSERVER_CMD needs PORT, the port the server listens on: "
        "--variable PORT:12000"
    )


@pytest.mark.timeout(300)
@pytest.mark.parametrize("behaviour", BEHAVIOURS)
def test_no_suite_hangs_on_a_server_that_never_answers(behaviour, tmp_path):
    """At the default timeouts, a silent server costs each suite well under a minute."""
    name = f"{behaviour}.silent"
    command = f"{sys.executable} -m tests.variants {name} --port 0"
    result = run_robot(
        behaviour, tmp_path, {"SERVER_CMD": command, "SERVER_CWD": str(ROOT), "PORT": "0"}
    )
    assert failed_tests(result)
    assert result.suite.elapsed_time.total_seconds() < 60
