"""Client verdicts a grader can sign: every client suite gives the same verdict run after
run, under load.

Every correct client (the references and the awkward variants) goes through its suite
``STABILITY_RUNS`` times, and every faulty variant ``STABILITY_FAULTY_RUNS`` times, as
in ``tests/test_stability.py``. CI runs them 3 times and once; the README's figures come
from 20 runs of each::

    STABILITY_RUNS=20 STABILITY_FAULTY_RUNS=20 python -m pytest -m stability -n 0 \\
        tests/test_client_stability.py

The suites run with their default waits, as a grader runs them, several at a time, while
a busy loop hogs a core. Every run of a correct client passes, and every run of a faulty
one fails exactly its tests from ``tests/client_verdicts.py``.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.client_verdicts import CORRECT, EXPECTED_FAILURES, run_target, verdict_problems
from tests.test_stability import FAULTY_RUNS, PARALLEL, RUNS, cpu_hog  # noqa: F401 - a fixture

pytestmark = [pytest.mark.slow, pytest.mark.stability]


@pytest.mark.timeout(120 + 60 * RUNS + 100 * FAULTY_RUNS)
def test_every_client_verdict_is_the_same_run_after_run(cpu_hog, tmp_path):  # noqa: F811
    jobs = [
        (target, run)
        for run in range(max(RUNS, FAULTY_RUNS))
        for target in [
            *(CORRECT if run < RUNS else []),
            *(sorted(EXPECTED_FAILURES) if run < FAULTY_RUNS else []),
        ]
    ]

    def judge(job: tuple[str, int]) -> str:
        target, run = job
        result = run_target(target, tmp_path / f"{target}-{run + 1}", fast=False)
        problems = verdict_problems(result, target)
        return f"{target}, run {run + 1}: {problems}" if problems else ""

    with ThreadPoolExecutor(PARALLEL) as pool:
        wrong = [problem for problem in pool.map(judge, jobs) if problem]
    assert not wrong, f"{len(wrong)} of {len(jobs)} verdicts were wrong:\n" + "\n".join(wrong)
