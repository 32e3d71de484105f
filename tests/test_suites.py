"""The acceptance suites against the reference servers, and how they treat their target.

Each suite runs in its own ``robot`` process, as graders and CI run it: against the
bundled reference server, against a server given by HOST/PORT or started by SERVER_CMD,
and against servers that never start or never answer. The seed ports and every variant
in ``tests/variants.py`` are judged against the matrix in ``tests/verdicts.py`` by
``tests/test_stability.py``, run after run under load.
"""

from __future__ import annotations

import sys

import pytest

from services import BEHAVIOURS, serve
from tests.helpers import ROOT, failed_tests, run_robot, skipped_tests
from tests.variants import VARIANTS
from tests.verdicts import (
    BEYOND_SEED,
    CORRECT,
    EXPECTED_FAILURES,
    FAST,
    ONE_AT_A_TIME,
    beyond_seed_tests,
    suite_tests,
)

# Starts processes: left out of the quick loop, pytest -m "not slow".
pytestmark = pytest.mark.slow


# --- correct servers pass --------------------------------------------------------------------


@pytest.mark.parametrize("behaviour", BEHAVIOURS)
def test_reference_server_passes_every_test(behaviour, tmp_path):
    result = run_robot(behaviour, tmp_path, {**FAST, **BEYOND_SEED})
    assert failed_tests(result) == skipped_tests(result) == set()
    assert len(result.suite.tests) == len(suite_tests(behaviour)) >= 6


def test_only_the_seeds_that_serve_one_client_at_a_time_have_tests_beyond_them():
    with_beyond = {behaviour for behaviour in BEHAVIOURS if beyond_seed_tests(behaviour)}
    assert with_beyond == {"echo", "timestamp", "welcome_timeout"}


@pytest.mark.parametrize("behaviour", BEHAVIOURS)
def test_a_running_server_given_by_host_and_port(behaviour, tmp_path):
    options = {"idle_timeout": 1} if behaviour == "welcome_timeout" else {}
    with serve(behaviour, **options) as (host, port):
        result = run_robot(behaviour, tmp_path, {**FAST, "HOST": host, "PORT": str(port)})
    assert failed_tests(result) == set()
    # By default the tests beyond the seed show as skipped, saying how to demand them.
    assert skipped_tests(result) == beyond_seed_tests(behaviour)
    for test in result.suite.tests:
        if test.status == "SKIP":
            assert test.message == (
                "Beyond the seed program: demanded only with --variable BEYOND_SEED:true"
            )


def test_reference_server_through_server_cmd(tmp_path):
    command = f"{sys.executable} -m services echo --port 0"
    result = run_robot(
        "echo", tmp_path, {"SERVER_CMD": command, "SERVER_CWD": str(ROOT), "PORT": "0"}
    )
    assert failed_tests(result) == set()


# --- the discrimination matrix, judged in tests/test_stability.py ---------------------------


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
    assert set(CORRECT) >= ONE_AT_A_TIME


def test_reference_passes_in_the_time_zone_that_catches_utc(tmp_path):
    result = run_robot("timestamp", tmp_path, FAST, env={"TZ": "CST-8"})
    assert failed_tests(result) == set()


# --- the target contract's failure modes ----------------------------------------------------


def test_server_that_does_not_start_fails_every_test_quickly(tmp_path):
    command = f"{sys.executable} -c \"import sys; print('SyntaxError: oops'); sys.exit(1)\""
    result = run_robot("echo", tmp_path, {"SERVER_CMD": command, "PORT": "18007"})
    assert failed_tests(result) == set(suite_tests("echo"))
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
        behaviour,
        tmp_path,
        {"SERVER_CMD": command, "SERVER_CWD": str(ROOT), "PORT": "0", **BEYOND_SEED},
    )
    assert failed_tests(result) == set(suite_tests(behaviour))
    assert result.suite.elapsed_time.total_seconds() < 60
