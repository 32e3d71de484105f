"""Batch grading of the shipped sample class, through the real CLI.

Every verdict and reason is asserted, and after every run no process of any submission
is left: every process started from a test carries the test's token in its environment,
and /proc must show none of them afterwards (sandboxed servers work in a copy of their
folder, so their working directory does not tell).
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from jsonschema import validate

from grading.isolation import judge_namespaces
from tests.helpers import (
    ROOT,
    leftovers,
    mark_processes,
    processes_working_in,
    run_grader,
    schema,
    wait_until,
)

# Starts processes: left out of the quick loop, pytest -m "not slow".
pytestmark = pytest.mark.slow

CLASS = ROOT / "grading" / "examples" / "welcome_timeout"

# submission -> (status, passed, failed, the reason starts with)
EXPECTED = {
    "alice": ("graded", 8, 0, ""),
    "bob_slow": ("graded", 8, 0, ""),
    "carol_split": ("graded", 8, 0, ""),
    "dave_strips": (
        "graded",
        6,
        2,
        "1 With A Newline Is Sent Away: Expected 'please go out!' "
        "but received 'welcome to server!' (18 bytes) at once",
    ),
    "erin_no_timeout": (
        "graded",
        6,
        2,
        "An Idle Client Is Disconnected After The Idle "
        "Timeout, Not Before: Expected the peer to close the "
        "connection but received nothing within",
    ),
    "frank_one_at_a_time": ("graded", 8, 0, ""),
    "gina_syntax_error": (
        "did-not-start",
        0,
        9,
        "exited with code 1 before listening on tcp port 8001: SyntaxError: '(' was never closed",
    ),
    "hank_never_binds": ("did-not-start", 0, 9, "did not listen on tcp port 8001 within 10s"),
    "ivan_daemon": ("graded", 8, 0, ""),
    "judy_floods": ("graded", 8, 0, "its output reached the 10 MB limit and was cut"),
    "kim_burns_cpu": (
        "graded",
        0,
        8,
        "Exactly 1 Is Welcome: Expected 'welcome to server!' but received nothing within 2s",
    ),
}


def copy_class(tmp_path: Path, names: list[str] | None = None) -> list[Path]:
    folders = []
    for name in names or sorted(EXPECTED):
        shutil.copytree(CLASS / name, tmp_path / "class" / name)
        folders.append(tmp_path / "class" / name)
    return folders


GRADE = ["--suite", "welcome_timeout", "--port", "8001", "--cmd", "python3 server.py"]


def grade(out: Path, folders: list[Path], *options: str, timeout: float = 240):
    # other test workers share the two cores; the default 16 jobs would crowd them
    return run_grader(
        *GRADE, "--outputdir", out, "--jobs", "6", *options, *folders, timeout=timeout
    )


def summary(out: Path) -> dict[str, dict[str, str]]:
    with open(out / "summary.csv", newline="") as file:
        return {row["submission"]: row for row in csv.DictReader(file)}


def assert_verdicts(out: Path, names: list[str]) -> None:
    rows = summary(out)
    assert sorted(rows) == sorted(names)
    for name in names:
        status, passed, failed, reason = EXPECTED[name]
        row = rows[name]
        assert (row["status"], int(row["passed"]), int(row["failed"])) == (
            status,
            passed,
            failed,
        ), row
        assert row["reason"].startswith(reason), row
        assert float(row["score"]) == round(100 * passed / (passed + failed), 1)


def test_grading_the_sample_class(tmp_path, monkeypatch):
    """The whole class at once, sandboxed and in parallel, everyone on port 8001."""
    token = mark_processes(monkeypatch)
    out = tmp_path / "out"
    result = grade(out, copy_class(tmp_path))
    assert result.returncode == 0, result.stderr
    assert "11/11 finished, 5 with failures" in result.stderr
    assert "11 submissions finished: 9 graded, 2 did-not-start; " in result.stdout

    assert_verdicts(out, sorted(EXPECTED))
    assert leftovers(token) == []
    (flood,) = (out / "judy_floods").glob("server-*.log")
    assert flood.stat().st_size <= 10 * 1024 * 1024

    for name, (_, passed, failed, _) in EXPECTED.items():
        for report in ("output.xml", "log.html", "report.html", "results.json"):
            assert (out / name / report).exists(), (name, report)
        results = json.loads((out / name / "results.json").read_text())
        validate(results, schema("gradescope"))
        assert_gradescope_format(results, passed + failed)
    assert (out / "report.html").exists() and (out / "log.html").exists()

    dave = json.loads((out / "dave_strips" / "results.json").read_text())
    failing = [test for test in dave["tests"] if test["status"] == "failed"]
    assert [test["name"] for test in failing] == [
        "1 With A Newline Is Sent Away",
        "1 With A Leading Space Is Sent Away",
    ]
    assert failing[0]["output"] == (
        "A new client sends '1\\n', gets exactly 'please go out!', and then the server "
        "closes the connection promptly.\n\nExpected 'please go out!' but received "
        "'welcome to server!' (18 bytes) at once"
    ), "the template's arguments are filled in, whitespace visible"
    gina = json.loads((out / "gina_syntax_error" / "results.json").read_text())
    assert gina["output"].startswith("Your server did not start: exited with code 1")
    assert gina["tests"][0]["output"].startswith(
        "your server did not start: exited with code 1 before listening on tcp port 8001; "
        "its last output: SyntaxError: '(' was never closed"
    )

    page = (out / "summary.html").read_text()
    for name in EXPECTED:
        assert f'<a href="./{name}/report.html">{name}</a>' in page
    assert "SyntaxError: &#x27;(&#x27; was never closed" in page
    assert "11 submissions: 9 graded, 2 did-not-start." in page
    scores = [
        round(100 * passed / (passed + failed), 1) for _, passed, failed, _ in EXPECTED.values()
    ]
    mean = round(sum(scores) / len(scores), 1)
    assert f"Mean score {mean}, over all 11 submissions" in page, "did-not-start counts as 0"
    assert "<h2>Pass rate per requirement</h2>" in page
    assert '<td>1 With A Newline Is Sent Away</td><td data-sort="63.6">' in page, (
        "7 of the 11 pass it"
    )


def assert_gradescope_format(results: dict, count: int) -> None:
    assert len(results["tests"]) == count, "skipped tests are left out"
    for test in results["tests"]:
        assert test["score"] == (1.0 if test["status"] == "passed" else 0.0)
        assert test["max_score"] == 1.0
        assert test["output"], "every test states its requirement, or why it failed"
        assert "``" not in test["output"], "plain text"
    assert results["score"] == sum(test["score"] for test in results["tests"])


def test_serial_fallback_grades_the_same_and_kills_the_daemon(tmp_path):
    names = ["ivan_daemon", "alice", "dave_strips", "gina_syntax_error"]
    folders = copy_class(tmp_path, names)
    result = grade(tmp_path / "out", folders, "--isolation", "none")
    assert result.returncode == 0, result.stderr
    assert "graded one after another" in result.stdout
    # ivan's daemon is graded first; had it survived, alice could not have bound 8001.
    assert_verdicts(tmp_path / "out", names)
    assert processes_working_in(tmp_path / "class") == []


def test_shards_merged_equal_the_unsharded_run(tmp_path):
    names = ["alice", "dave_strips", "frank_one_at_a_time", "gina_syntax_error", "hank_never_binds"]
    folders = copy_class(tmp_path, names)
    whole = grade(tmp_path / "whole", folders)
    first = grade(tmp_path / "shard1", folders, "--shard", "1/2")
    second = grade(tmp_path / "shard2", folders, "--shard", "2/2")
    assert whole.returncode == first.returncode == second.returncode == 0
    assert sorted(summary(tmp_path / "shard1")) == [
        "alice",
        "frank_one_at_a_time",
        "hank_never_binds",
    ]
    merged = run_grader(
        "merge", "--outputdir", tmp_path / "merged", tmp_path / "shard1", tmp_path / "shard2"
    )
    assert merged.returncode == 0, merged.stderr
    assert summary(tmp_path / "merged") == summary(tmp_path / "whole")
    page = (tmp_path / "merged" / "summary.html").read_text()
    assert '<a href="../shard2/dave_strips/report.html">' in page
    assert (tmp_path / "merged" / "report.html").exists()


def test_time_limit(tmp_path, monkeypatch):
    token = mark_processes(monkeypatch)
    folders = copy_class(tmp_path, ["alice"])
    result = grade(tmp_path / "out", folders, "--time-limit", "3")
    assert result.returncode == 0
    row = summary(tmp_path / "out")["alice"]
    assert row["status"] == "timed-out"
    assert row["reason"] == "stopped at the 3s time limit"
    assert int(row["passed"]) + int(row["failed"]) == 9, "robot still wrote its results"
    assert leftovers(token) == []


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_interrupted_grading_kills_its_jobs_and_summarises_what_finished(
    tmp_path, signum, monkeypatch
):
    token = mark_processes(monkeypatch)
    folders = copy_class(tmp_path, ["alice", "bob_slow", "erin_no_timeout"])
    stale = tmp_path / "out" / "erin_no_timeout"
    stale.mkdir(parents=True)
    (stale / "verdict.json").write_text("{}")  # from an earlier run
    grader = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "grading",
            *GRADE,
            "--outputdir",
            str(tmp_path / "out"),
            "--jobs",
            "2",
            *map(str, folders),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        wait_until(lambda: leftovers(token, "python3 server.py"), 60, "a server runs")
        grader.send_signal(signum)
        output, _ = grader.communicate(timeout=30)
    finally:
        if grader.poll() is None:
            os.killpg(grader.pid, signal.SIGKILL)
            grader.wait()
    assert grader.returncode == 130, output
    assert "Interrupted: 0 of 3 submissions finished" in output
    rows = summary(tmp_path / "out")
    assert {row["status"] for row in rows.values()} == {"interrupted"}, rows
    assert rows["erin_no_timeout"]["reason"] == "not graded: the batch was interrupted"
    assert list((tmp_path / "out").glob("*/verdict.json")) == []
    assert leftovers(token) == []


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--shard", "3/2"], "shard '3/2': K must be between 1 and N"),
        (["--jobs", "0"], "--jobs must be at least 1"),
        (["--suite", "nope"], "--suite nope: neither a bundled suite (ack, banner_echo"),
    ],
)
def test_usage_errors_exit_2(tmp_path, options, message):
    result = grade(tmp_path / "out", [CLASS / "alice"], *options)
    assert result.returncode == 2
    assert message in result.stderr


def test_missing_folder_is_a_usage_error(tmp_path):
    result = grade(tmp_path / "out", [tmp_path / "nobody"])
    assert result.returncode == 2
    assert f"not a folder: {tmp_path / 'nobody'}" in result.stderr


NETWORK_SUITE = """\
*** Settings ***
Documentation       What a grading job's network namespace holds.
Test Timeout        10s


*** Test Cases ***
The Job Has A Small TCP Table Of Its Own
    [Documentation]    Listing its sockets (/proc/net/tcp) walks 1,024 buckets, not the host's.
    Sysctl Should Be    tcp_ehash_entries    1024

The Job Keeps The SYN Backlog Of A New Namespace
    [Documentation]    Linux derives it from the table's size; the judge puts it back.
    Sysctl Should Be    tcp_max_syn_backlog    ${BACKLOG}

The Job Keeps The TIME-WAIT Limit Of A New Namespace
    [Documentation]    Linux derives it from the table's size; the judge puts it back.
    Sysctl Should Be    tcp_max_tw_buckets    ${TIME_WAIT}


*** Keywords ***
Sysctl Should Be
    [Documentation]    net.ipv4.``name`` has ``expected`` in this network namespace.
    [Arguments]    ${name}    ${expected}
    ${value}    Evaluate    pathlib.Path('/proc/sys/net/ipv4/${name}').read_text().strip()
    Should Be Equal    ${value}    ${expected}
"""
TCP_LIMITS = ["/proc/sys/net/ipv4/tcp_max_syn_backlog", "/proc/sys/net/ipv4/tcp_max_tw_buckets"]


@pytest.mark.skipif(
    not Path("/proc/sys/net/ipv4/tcp_child_ehash_entries").exists(),
    reason="before Linux 6.1 every network namespace shares the host's TCP table",
)
def test_each_job_has_a_small_tcp_table_and_the_limits_of_a_new_namespace(tmp_path):
    new_namespace = [*judge_namespaces(), "cat", *TCP_LIMITS]  # as the judge's is made
    backlog, time_wait = subprocess.run(
        new_namespace, capture_output=True, text=True, check=True, timeout=30
    ).stdout.split()
    suite = tmp_path / "network.robot"
    suite.write_text(NETWORK_SUITE)
    submission = tmp_path / "class" / "anyone"
    submission.mkdir(parents=True)
    out = tmp_path / "out"
    result = run_grader(
        *("--suite", suite, "--port", "8001", "--cmd", "true", "--outputdir", out),
        *("--variable", f"BACKLOG:{backlog}", "--variable", f"TIME_WAIT:{time_wait}"),
        submission,
    )
    assert result.returncode == 0, result.stderr
    verdict = json.loads((out / "anyone" / "verdict.json").read_text())
    assert verdict["status"] == "graded"
    outcomes = {test["name"]: (test["status"], test["message"]) for test in verdict["tests"]}
    assert outcomes == {
        "The Job Has A Small TCP Table Of Its Own": ("passed", ""),
        "The Job Keeps The SYN Backlog Of A New Namespace": ("passed", ""),
        "The Job Keeps The TIME-WAIT Limit Of A New Namespace": ("passed", ""),
    }
