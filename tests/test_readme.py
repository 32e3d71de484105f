"""The README's promises: its example suite runs, and CI runs its commands."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from robot.api import ExecutionResult

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()


def fenced(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", README, re.DOTALL)


def test_the_example_suite_runs(tmp_path):
    (example,) = fenced("robotframework")
    (tmp_path / "my_tests").mkdir()
    (tmp_path / "my_tests" / "echo.robot").write_text(example)
    for folder in ("keywords", "services"):
        (tmp_path / folder).symlink_to(ROOT / folder)
    subprocess.run(
        [
            sys.executable,
            "-m",
            "robot",
            "--outputdir",
            str(tmp_path / "out"),
            "--console",
            "none",
            "my_tests",
        ],
        cwd=tmp_path,
        timeout=60,
        check=False,
    )
    result = ExecutionResult(str(tmp_path / "out" / "output.xml"))
    assert [(test.name, test.status) for test in result.suite.all_tests] == [
        ("Echo Answers Every Message", "PASS"),
        ("Two Clients Are Served Side By Side", "PASS"),
    ]


def test_ci_runs_the_readme_commands():
    commands = [
        block.strip() for block in fenced("sh") if "pip install -r requirements.txt" in block
    ]
    suites, tests = commands
    ci = (ROOT / ".ci" / "run").read_text()
    assert suites.split(" && ")[1] in ci
    assert tests.split(" && ")[1] in ci
