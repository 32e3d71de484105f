"""The acceptance suites: they pass on correct servers and catch every shipped bug.

Each suite runs in its own ``robot`` process, as graders and CI run it: against the
bundled reference server, against a server given by HOST/PORT, against the ports of the
seed programs in ``tests/seeds/`` and against every variant in ``tests/variants.py``
through SERVER_CMD/PORT. The matrix in ``tests/verdicts.py`` gives the exact set of tests
each one must fail (and skip), so a suite that stops catching a bug, starts blaming the
wrong requirement or demands more than the seed program does, fails here.
``tests/test_stability.py`` runs the same matrix again and again under load.
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
    behaviour_of,
    beyond_seed_tests,
    run_target,
    suite_tests,
    verdict_problems,
)

# Starts processes: left out of the quick loop, pytest -m "not slow".
pytestmark = pytest.mark.slow


# --- correct servers pass --------------------------------------------------------------------


@pytest.mark.parametrize("behaviour", BEHAVIOURS)
def test_reference_server_passes_every_test(behaviour, tmp_path):
    result = run_robot(behaviour, tmp_path, {**FAST, **BEYOND_SEED})
    assert failed_tests(result) == skipped_tests(result) == set()
    assert len(result.suite.tests) == len(suite_tests(behaviour)) >= 6


@pytest.mark.parametrize("behaviour", BEHAVIOURS)
def test_by_default_tests_beyond_the_seed_are_skipped(behaviour, tmp_path):
    result = run_robot(behaviour, tmp_path, FAST)
    assert failed_tests(result) == set()
    assert skipped_tests(result) == beyond_seed_tests(behaviour)
    for test in result.suite.tests:
        if test.status == "SKIP":
            assert test.message == (
                "Beyond the seed program: demanded only with --variable BEYOND_SEED:true"
            )


def test_only_the_seeds_that_serve_one_client_at_a_time_have_tests_beyond_them():
    with_beyond = {behaviour for behaviour in BEHAVIOURS if beyond_seed_tests(behaviour)}
    assert with_beyond == {"echo", "timestamp", "welcome_timeout"}


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


@pytest.mark.parametrize("target", CORRECT)
def test_correct_server_passes(target, tmp_path):
    """Threaded ones pass everything, BEYOND_SEED on; one-at-a-time ones pass by default."""
    beyond_seed = target not in ONE_AT_A_TIME
    result = run_target(target, tmp_path, beyond_seed=beyond_seed)
    assert verdict_problems(result, target, beyond_seed) == ""
    assert failed_tests(result) == set()


@pytest.mark.parametrize("target", sorted(ONE_AT_A_TIME))
def test_beyond_seed_fails_a_server_that_serves_one_client_at_a_time(target, tmp_path):
    result = run_target(target, tmp_path, beyond_seed=True)
    assert verdict_problems(result, target, beyond_seed=True) == ""
    assert failed_tests(result) == beyond_seed_tests(behaviour_of(target)) != set()


# --- faulty servers fail, on the requirement they break ------------------------------------


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


@pytest.mark.parametrize("target", sorted(EXPECTED_FAILURES))
def test_faulty_variant_fails_exactly_the_tests_it_breaks(target, tmp_path):
    result = run_target(target, tmp_path)
    assert verdict_problems(result, target) == ""
    assert failed_tests(result)


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
