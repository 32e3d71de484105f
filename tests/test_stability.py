"""Verdicts a grader can sign: every suite gives the same verdict run after run, under load.

Every correct target (the awkward variants and the seed ports) goes through its suite
``STABILITY_RUNS`` times, and every faulty variant (but the silent ones, whose every test
simply times out) ``STABILITY_FAULTY_RUNS`` times. CI runs them 3 times and once; the
figures in the README come from 20 runs of each::

    STABILITY_RUNS=20 STABILITY_FAULTY_RUNS=20 python -m pytest -m stability -n 0

The suites run with their default waits, as a grader runs them, several at a time, while
a busy loop hogs a core. Every run of a correct target passes, and every run of a faulty
one fails exactly its tests from ``tests/verdicts.py``.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.verdicts import CORRECT, EXPECTED_FAILURES, ONE_AT_A_TIME, run_target, verdict_problems

pytestmark = [pytest.mark.slow, pytest.mark.stability]

RUNS = int(os.environ.get("STABILITY_RUNS", "3"))
FAULTY_RUNS = int(os.environ.get("STABILITY_FAULTY_RUNS", "1"))
# Suites running side by side, as in the grader; most of their time is spent waiting.
PARALLEL = 6

# (target, BEYOND_SEED): correct threaded targets pass even with BEYOND_SEED; those that
# serve one client at a time pass by default and fail exactly the beyond-seed tests with it.
CORRECT_CASES = [
    *((target, target not in ONE_AT_A_TIME) for target in CORRECT),
    *((target, True) for target in sorted(ONE_AT_A_TIME)),
]
FAULTY_CASES = [
    (target, False) for target in sorted(EXPECTED_FAILURES) if not target.endswith(".silent")
]


@pytest.fixture
def cpu_hog():
    """A busy loop on one core for the length of the test, ended whatever happens."""
    # It spins only while its parent lives: a worker that pytest-timeout ends with
    # os._exit never runs the finally below, and the hog would burn a core for ever.
    spin = "import os\nparent = os.getppid()\nwhile os.getppid() == parent: pass"
    hog = subprocess.Popen([sys.executable, "-c", spin], start_new_session=True)
    try:
        yield
    finally:
        os.killpg(hog.pid, signal.SIGKILL)
        hog.wait()


@pytest.mark.timeout(120 + 60 * RUNS + 100 * FAULTY_RUNS)
def test_every_verdict_is_the_same_run_after_run(cpu_hog, tmp_path):
    jobs = [
        (target, beyond_seed, run)
        for run in range(max(RUNS, FAULTY_RUNS))
        for target, beyond_seed in [
            *(CORRECT_CASES if run < RUNS else []),
            *(FAULTY_CASES if run < FAULTY_RUNS else []),
        ]
    ]

    def judge(job: tuple[str, bool, int]) -> str:
        target, beyond_seed, run = job
        outputdir = tmp_path / f"{target}{'-beyond-seed' if beyond_seed else ''}-{run + 1}"
        result = run_target(target, outputdir, fast=False, beyond_seed=beyond_seed)
        problems = verdict_problems(result, target, beyond_seed)
        mode = " with BEYOND_SEED" if beyond_seed else ""
        return f"{target}{mode}, run {run + 1}: {problems}" if problems else ""

    with ThreadPoolExecutor(PARALLEL) as pool:
        wrong = [problem for problem in pool.map(judge, jobs) if problem]
    assert not wrong, f"{len(wrong)} of {len(jobs)} verdicts were wrong:\n" + "\n".join(wrong)
