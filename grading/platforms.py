"""Verdicts in the formats that learning platforms read, and grading one submission on them.

Each format follows the platform's published specification; ``schemas/`` holds a JSON
Schema for each, written from that specification (and citing it), against which the tests
validate every result:

- **Gradescope**: ``results.json`` of an autograder (per test ``name``, ``score``,
  ``max_score``, ``status``, ``output`` and ``visibility``; ``output`` and
  ``execution_time`` for the submission). Tests can be hidden by tag.
- **GitHub Classroom**: the result a runner step hands to
  ``classroom-resources/autograding-grading-reporter`` (``version``, ``status``,
  ``max_score``, ``tests[]``), base64-encoded as the step's ``result`` output.
- **PrairieLearn**: an external grader's ``results.json`` (``score`` from 0 to 1,
  ``gradable``, ``tests[]`` with ``points`` and ``max_points``).

A test's points are its ``points:N`` tag (1 without one); a skipped test was not demanded
and is left out. Whatever a student reads names no test that is hidden from them and none
of the grader's paths.

``python -m grading platform NAME --assignment DIR --root ROOT`` grades the one submission
that the platform put under ROOT (``package.py`` makes DIR) and writes the platform's
results where the platform reads them. It grades in the same sandbox as a class, and when
the sandbox cannot be made it refuses the same way: one line, exit code 2, no results.
"""

from __future__ import annotations

import argparse
import base64
import json
import shutil
import sys
import tempfile
from pathlib import Path

from .report import DID_NOT_START, ERROR, TIMED_OUT, TestOutcome, Verdict, visible

RESULTS_FILE = "results.json"  # every submission's, in the Gradescope format
ASSIGNMENT_FILE = "assignment.json"
SCHEMAS = Path(__file__).resolve().parent / "schemas"
PLATFORMS = ("gradescope", "classroom", "prairielearn")
# Gradescope's, from the most restrictive; a test with several tags gets the first of them.
VISIBILITIES = ("hidden", "after_published", "after_due_date", "visible")
MAX_TEXT = 8000  # characters of one test's output: PrairieLearn takes at most 1 MB in all
# What a platform copies into a classroom repository besides the student's code.
NOT_SUBMITTED = (".git", ".github", ".socketkit", "socketkit-output")


def _cut(text: str) -> str:
    return text if len(text) <= MAX_TEXT else text[:MAX_TEXT] + " [... cut]"


def test_output(test: TestOutcome) -> str:
    """What a test checks, then what went wrong (the server's fate first)."""
    return _cut("\n\n".join(part for part in (test.requirement, test.message) if part))


def summary(verdict: Verdict, *, names_tests: bool = True) -> str:
    """A few words on the whole submission for the student: never a hidden test's name."""
    notes = "".join(f" Note: {visible(note)}." for note in verdict.notes)
    if verdict.status == DID_NOT_START:
        return f"Your server did not start: {visible(verdict.reason)}. No test could run."
    if verdict.status == ERROR:
        return (
            "Your submission could not be graded: the grader failed. Your instructor can "
            "see why; this is not a verdict on your server."
        )
    earned, possible = verdict.points
    passed, ran = verdict.count("passed"), len(verdict.ran)
    counts = f"{passed} of {ran} tests passed, {earned:g} of {possible:g} points."
    if not names_tests:
        counts = "The results you can see are below; more are shown later."
    if verdict.status == TIMED_OUT:
        counts = f"Grading stopped at its time limit, so some tests may not have run. {counts}"
    return counts + notes


def visibility_of(tags: list[str], rules: dict[str, str], default: str) -> str:
    """The most restrictive visibility among the test's tags, else ``default``."""
    found = [rules[tag] for tag in tags if tag in rules] + [default]
    return min(found, key=VISIBILITIES.index)


def gradescope(
    verdict: Verdict, rules: dict[str, str] | None = None, default: str = "visible"
) -> dict:
    """Gradescope's autograder ``results.json``; ``rules`` maps tags to visibilities."""
    rules = rules or {}
    tests = []
    for test in verdict.ran:
        passed = test.status == "passed"
        tests.append(
            {
                "name": test.name,
                "name_format": "text",
                "score": test.points if passed else 0.0,
                "max_score": test.points,
                "status": "passed" if passed else "failed",
                "output": test_output(test),
                "output_format": "text",
                "visibility": visibility_of(test.tags, rules, default),
            }
        )
    later = [repr(test["name"]) for test in tests if test["visibility"] != "visible"]
    for test in tests:
        for name in later if test["visibility"] == "visible" else ():
            test["output"] = test["output"].replace(name, "a test shown later")
    every_test_shown = not later
    return {
        "score": verdict.points[0],
        "execution_time": round(verdict.seconds),
        "output": summary(verdict, names_tests=every_test_shown),
        "output_format": "text",
        "stdout_visibility": "hidden",
        "tests": tests,
    }


def classroom(verdict: Verdict) -> dict:
    """The result GitHub Classroom's autograding reporter reads from a runner."""
    tests = [
        {
            "name": test.name,
            "status": "pass" if test.status == "passed" else "fail",
            "score": test.points if test.status == "passed" else 0.0,
            "message": test_output(test),
            "test_code": "",
            "filename": "",
            "line_no": 0,
        }
        for test in verdict.ran
    ]
    if verdict.status == ERROR or not tests:
        status = "error"
        tests = tests or [
            {
                "name": "grading",
                "status": "error",
                "score": 0.0,
                "message": summary(verdict),
                "line_no": 0,
            }
        ]
    else:
        status = "pass" if all(test["status"] == "pass" for test in tests) else "fail"
    return {"version": 1, "status": status, "max_score": verdict.points[1], "tests": tests}


def prairielearn(verdict: Verdict) -> dict:
    """PrairieLearn's external grader ``results.json``. A server that did not start, like
    code that does not compile, is not gradable: no points, no attempt used."""
    if verdict.status in (DID_NOT_START, ERROR):
        return {"gradable": False, "format_errors": [summary(verdict)], "message": summary(verdict)}
    earned, possible = verdict.points
    tests = [
        {
            "name": test.name,
            "description": test.requirement,
            "points": test.points if test.status == "passed" else 0.0,
            "max_points": test.points,
            "message": _cut(test.message) if test.message else "passed",
        }
        for test in verdict.ran
    ]
    return {
        "gradable": True,
        "score": round(earned / possible, 6) if possible else 0.0,
        "message": summary(verdict),
        "tests": tests,
    }


def write_results(verdict: Verdict, out: Path) -> None:
    """Every submission's ``results.json``, in Gradescope's format, every test visible."""
    text = json.dumps(gradescope(verdict), indent=2, ensure_ascii=False)
    (out / RESULTS_FILE).write_text(text)


# --- one submission on a platform ---------------------------------------------------------


class AssignmentError(ValueError):
    """The assignment folder is not one that ``python -m grading package`` wrote."""


def read_assignment(folder: Path) -> dict:
    """The packaged assignment: the suite, the grader's options, the visibility rules."""
    try:
        data = json.loads((folder / ASSIGNMENT_FILE).read_text())
    except (OSError, ValueError) as error:
        raise AssignmentError(f"{folder / ASSIGNMENT_FILE} cannot be read: {error}") from None
    if not isinstance(data, dict) or data.get("version") != 1:
        raise AssignmentError(f"{folder / ASSIGNMENT_FILE} is not a version 1 assignment")
    suite, options = data.get("suite"), data.get("options")
    rules, default = data.get("visibility", {}), data.get("default_visibility", "visible")
    if not (isinstance(options, list) and all(isinstance(option, str) for option in options)):
        raise AssignmentError("options must be a list of strings")
    if not isinstance(suite, str) or not suite or Path(suite).is_absolute() or ".." in suite:
        raise AssignmentError("suite must be a bundled name or a path inside the assignment")
    if not (isinstance(rules, dict) and set(rules.values()) <= set(VISIBILITIES)):
        raise AssignmentError(f"visibility rules must map tags to one of {VISIBILITIES}")
    if default not in VISIBILITIES:
        raise AssignmentError(f"default_visibility must be one of {VISIBILITIES}")
    return data


def platform_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m grading platform",
        description="Grade the one submission a learning platform put under ROOT, and write "
        "its results where the platform reads them.",
    )
    parser.add_argument("platform", choices=PLATFORMS)
    parser.add_argument("--assignment", type=Path, required=True, help="the packaged assignment")
    parser.add_argument(
        "--root",
        type=Path,
        help="the platform's folder (default /autograder for Gradescope, /grade for "
        "PrairieLearn, the current folder, the repository, for GitHub Classroom)",
    )
    parser.add_argument(
        "--github-output",
        type=Path,
        metavar="FILE",
        help="classroom: the step's $GITHUB_OUTPUT, which gets result=<base64 JSON>",
    )
    return parser


DEFAULT_ROOTS = {"gradescope": "/autograder", "prairielearn": "/grade", "classroom": "."}


def main(argv: list[str]) -> int:
    from .cli import EXIT_USAGE, grade_parser, run_grader  # noqa: PLC0415 - cli imports us

    args = platform_parser().parse_args(argv)
    root = (args.root or Path(DEFAULT_ROOTS[args.platform])).resolve()
    try:
        assignment = read_assignment(args.assignment.resolve())
    except AssignmentError as error:
        print(f"python -m grading platform: {error}", file=sys.stderr)
        return EXIT_USAGE
    suite = assignment["suite"]
    if "/" in suite or suite.endswith(".robot"):
        suite = str(args.assignment.resolve() / suite)
    out = root / "socketkit-output"
    with tempfile.TemporaryDirectory(prefix="socketkit-submission-") as scratch:
        submission = submitted_folder(args.platform, root, Path(scratch))
        grader = grade_parser().parse_args(
            [*assignment["options"], "--suite", suite, "--outputdir", str(out), str(submission)]
        )
        code, verdicts = run_grader(grader, grade_parser())
    if code != 0 or not verdicts:
        return code
    (verdict,) = verdicts
    write_platform_results(args.platform, verdict, assignment, root, out, args.github_output)
    earned, possible = verdict.points
    print(f"{verdict.status}: {earned:g} of {possible:g} points; {visible(verdict.reason)}")
    return 0


def submitted_folder(platform: str, root: Path, scratch: Path) -> Path:
    """Where the platform put the student's files; a classroom repository is copied
    without its history and the assignment's own files."""
    if platform == "gradescope":
        return root / "submission"
    if platform == "prairielearn":
        return root / "student"
    copy = scratch / "submission"
    shutil.copytree(root, copy, symlinks=True, ignore=shutil.ignore_patterns(*NOT_SUBMITTED))
    return copy


def write_platform_results(
    platform: str,
    verdict: Verdict,
    assignment: dict,
    root: Path,
    out: Path,
    github_output: Path | None,
) -> None:
    if platform == "gradescope":
        results = gradescope(
            verdict, assignment.get("visibility"), assignment["default_visibility"]
        )
        where = root / "results" / RESULTS_FILE
    elif platform == "prairielearn":
        results, where = prairielearn(verdict), root / "results" / RESULTS_FILE
    else:
        results, where = classroom(verdict), out / "classroom.json"
    where.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(results, ensure_ascii=False)
    where.write_text(text)
    if github_output:
        encoded = base64.b64encode(text.encode()).decode()
        with open(github_output, "a") as outputs:
            outputs.write(f"result={encoded}\n")
