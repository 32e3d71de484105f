"""Verdicts from Robot Framework results and the library's facts, and the class summaries.

Per submission: ``verdict.json``, from which every platform's results are derived
(``platforms.py``). Per class: ``summary.csv``, ``summary.html``, ``grading.json`` (the
isolation and limits in force) and a combined ``report.html``/``log.html`` made by ``rebot``.

A verdict's status comes from facts (``SocketLibrary.facts``: a server did not start, or
exited during a test) and results, never from the wording of a message. What a student
reads is for the student: each failed test says first what became of the server, and
the grader's own paths are replaced by what they stand for.

Everything read back is untrusted: an ``output.xml``, facts file or ``verdict.json`` that
is missing, cut short or malformed gives that submission the ``error`` status, never a
crash. Everything
a student controls (folder names, output, failure messages) is escaped where it is shown:
control characters in the CSV, the HTML and the console, formulas in the CSV, and links are
relative and URL-quoted.
"""

from __future__ import annotations

import csv
import html
import json
import math
import os
import re
import unicodedata
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import timedelta
from pathlib import Path
from urllib.parse import quote

from robot.api import ExecutionResult, TestSuiteBuilder
from robot.rebot import rebot
from robot.result import TestCase, TestSuite

from SocketLibrary.facts import FACTS_FILE, FactsError, ServerFacts, read_facts
from SocketLibrary.processes import describe_exit

CSV_COLUMNS = ["submission", "passed", "failed", "skipped", "score", "status", "reason"]
VERDICT_FILE = "verdict.json"
GRADED, DID_NOT_START, TIMED_OUT, ERROR, INTERRUPTED = (
    "graded",
    "did-not-start",
    "timed-out",
    "error",
    "interrupted",
)
STATUSES = (GRADED, DID_NOT_START, TIMED_OUT, ERROR, INTERRUPTED)
TEST_STATUSES = ("passed", "failed", "skipped")
POINTS_TAG = "points:"  # a test tagged points:3 is worth 3 points; every other one, 1
LAST_OUTPUT_BYTES = 4000
# How long after its first sign a server's end is recorded, at most, under load.
EXIT_NOTICED_WITHIN = timedelta(seconds=1)
SUMMARY_FILE = "grading.json"
SUMMARY_CSV, SUMMARY_HTML = "summary.csv", "summary.html"
COMBINED = ("output.xml", "log.html", "report.html")  # the whole class's, made by rebot
# The files a batch writes next to the submissions' folders: no submission may be named so.
CLASS_FILES = (SUMMARY_CSV, SUMMARY_HTML, SUMMARY_FILE, *COMBINED)
# Characters that move the cursor, recolour a terminal or reorder text (Trojan Source).
_BIDI = "\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
_UNSAFE = re.compile(f"[\x00-\x1f\x7f-\x9f{_BIDI}]")
_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def visible(text: str) -> str:
    """``text`` with control and bidirectional characters shown as escapes (``\\x1b``)."""
    return _UNSAFE.sub(lambda match: match.group().encode("unicode_escape").decode(), text)


def csv_cell(value: object) -> object:
    """A CSV cell that no spreadsheet runs as a formula (OWASP: prefix a quote)."""
    if not isinstance(value, str):
        return value
    if value.startswith(_FORMULA):
        value = "'" + value
    return visible(value)


def report_link(path: Path | str) -> str:
    """A relative, URL-quoted link: no folder name can make a ``javascript:`` URL."""
    parts = [quote(unicodedata.normalize("NFC", part), safe="") for part in Path(path).parts]
    return "./" + "/".join(parts) if parts[0] not in ("..", ".") else "/".join(parts)


def points_of(tags: list[str]) -> float:
    """What a test with these tags is worth: its ``points:N`` tag, else 1."""
    for tag in tags:
        if tag.lower().startswith(POINTS_TAG):
            points = float(tag[len(POINTS_TAG) :])
            if not (points > 0 and math.isfinite(points)):
                raise ValueError(f"tag {tag!r}: points must be a positive number")
            return points
    return 1.0


def plain_text(doc: str) -> str:
    """Robot Framework documentation as one line of plain text: ``code``, *bold* and
    _italic_ lose their marks."""
    text = re.sub(r"``(.+?)``", r"\1", doc, flags=re.DOTALL)
    text = re.sub(r"(?<!\w)([*_])(\S(?:.*?\S)?)\1(?!\w)", r"\2", text)
    return " ".join(text.split())


@dataclass
class TestOutcome:
    name: str
    status: str  # passed, failed or skipped
    message: str = ""  # for the student: what went wrong, the server's fate first
    requirement: str = ""  # the test's documentation as plain text, its values filled in
    points: float = 1.0
    tags: list[str] = field(default_factory=list)


@dataclass
class Verdict:
    submission: str
    status: str  # graded, did-not-start, timed-out, error or interrupted
    reason: str = ""
    tests: list[TestOutcome] = field(default_factory=list)
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)  # limits that bit, output that was cut

    def count(self, status: str) -> int:
        return sum(test.status == status for test in self.tests)

    @property
    def ran(self) -> list[TestOutcome]:
        """The tests that count: passed or failed (a skipped test was not demanded)."""
        return [test for test in self.tests if test.status != "skipped"]

    @property
    def points(self) -> tuple[float, float]:
        """Points earned, and points possible, over the tests that ran."""
        return (
            sum(test.points for test in self.ran if test.status == "passed"),
            sum(test.points for test in self.ran),
        )

    @property
    def score(self) -> float:
        """Percentage of the points of the tests that ran that were earned."""
        earned, possible = self.points
        return round(100 * earned / possible, 1) if possible else 0.0

    def csv_row(self) -> dict[str, object]:
        return {
            "submission": self.submission,
            "passed": self.count("passed"),
            "failed": self.count("failed"),
            "skipped": self.count("skipped"),
            "score": self.score,
            "status": self.status,
            "reason": self.reason,
        }

    def save(self, directory: Path) -> None:
        text = json.dumps(asdict(self), indent=2, ensure_ascii=False)
        (directory / VERDICT_FILE).write_text(text)

    @classmethod
    def load(cls, directory: Path) -> Verdict:
        """The saved verdict, or an ``error`` verdict saying why it cannot be read."""
        try:
            data = json.loads((directory / VERDICT_FILE).read_text())
            tests = [_outcome(test) for test in data["tests"]]
            notes = data.get("notes", [])
            if not (isinstance(notes, list) and all(isinstance(note, str) for note in notes)):
                raise TypeError("notes is not a list of strings")
            verdict = cls(
                **_strings(data, ("submission", "status", "reason")),
                tests=tests,
                seconds=float(data.get("seconds", 0)),
                notes=notes,
            )
            if verdict.status not in STATUSES or any(
                test.status not in TEST_STATUSES for test in tests
            ):
                raise ValueError("unknown status")
        except (OSError, ValueError, TypeError, KeyError, AttributeError) as error:
            reason = f"its verdict.json cannot be read ({type(error).__name__})"
            return cls(directory.name, ERROR, reason)
        return verdict


def _strings(data: dict, names: tuple[str, ...]) -> dict[str, str]:
    """The named fields of a JSON object, each a string."""
    values = {name: data.get(name, "") for name in names}
    if not all(isinstance(value, str) for value in values.values()):
        raise TypeError("a field is not a string")
    return values


def _outcome(data: dict) -> TestOutcome:
    tags = data.get("tags", [])
    if not (isinstance(tags, list) and all(isinstance(tag, str) for tag in tags)):
        raise TypeError("tags is not a list of strings")
    points = data.get("points", 1.0)
    if type(points) not in (int, float) or not (points > 0 and math.isfinite(points)):
        raise ValueError("points is not a positive number")
    fields = _strings(data, ("name", "status", "message", "requirement"))
    return TestOutcome(**fields, points=float(points), tags=tags)


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else ""


def check_points(suite_path: Path) -> None:
    """Raise ValueError for a ``points:`` tag that is not a positive number."""
    suite = TestSuiteBuilder().build(str(suite_path))
    for test in suite.all_tests:
        points_of(list(test.tags))


def last_output(log: Path) -> str:
    """The last line a server printed, escaped; empty when it printed nothing."""
    try:
        with open(log, "rb") as file:
            file.seek(max(file.seek(0, os.SEEK_END) - LAST_OUTPUT_BYTES, 0))
            lines = file.read().decode("utf-8", errors="replace").strip().splitlines()
    except OSError:
        return ""
    return visible(lines[-1].strip())[:300] if lines else ""


def server_fate(
    test: TestCase,
    servers: list[ServerFacts],
    out: Path,
    tests: list,
    name_of: Callable[[TestCase], str] = lambda test: test.name,
) -> str:
    """What became of the student's server, as the first words of a failed test's message:
    it did not start, or it exited during this test or before it. Empty otherwise.

    ``name_of`` names a test as the verdict does, so that a platform that hides a test
    finds its name here too."""
    for server in servers:
        if not server.serves(test.full_name):
            continue
        if server.not_started:
            fate = f"your server did not start: {server.not_started}"
        elif server.exited_at is None or server.exit_code is None:
            continue
        else:
            culprit = test_that_ended(server, [t for t in tests if server.serves(t.full_name)])
            if culprit is None or test.start_time < culprit.start_time:
                continue
            ended = describe_exit(server.exit_code)
            if test is culprit:
                fate = f"your server {ended} during this test"
            elif culprit.status == "FAIL":
                fate = f"your server {ended} before this test, during {name_of(culprit)!r}"
            else:
                fate = f"your server {ended} before this test"
        output = last_output(out / server.log) if server.log else ""
        return f"{fate}; " + (f"its last output: {output}" if output else "it printed nothing")
    return ""


def test_that_ended(server: ServerFacts, tests: list[TestCase]) -> TestCase | None:
    """The test during which the server exited on its own.

    Its end is recorded when its last process has gone, a moment after the client saw
    the first sign of it (a closed connection, while a crashing program prints its
    traceback), and tests that start meanwhile fail at once. So it is the last test that
    started before the end, or the first of the tests that failed in a row just before."""
    started = [t for t in tests if t.start_time and t.start_time <= server.exited_at]
    if not started:
        return None
    culprit = started[-1]
    for earlier in reversed(started[:-1]):
        if earlier.status != "FAIL" or earlier.end_time < server.exited_at - EXIT_NOTICED_WITHIN:
            break
        culprit = earlier
    return culprit


def scrub(text: str, hidden: dict[str, str]) -> str:
    """``text`` with the grader's own paths replaced by what they stand for (``<kit>``)."""
    for path, name in sorted(hidden.items(), key=lambda item: -len(item[0])):
        if path:
            text = text.replace(path, name)
    return text


def read_verdict(
    submission: str,
    out: Path,
    *,
    timed_out: bool,
    time_limit: float,
    seconds: float,
    notes: list[str] | None = None,
    hidden: dict[str, str] | None = None,
) -> Verdict:
    """Turn one submission's output.xml and facts (if any) into a verdict.

    The status comes from the facts and the results, never from the wording of a message.
    A missing, cut short or malformed output.xml or facts file gives an ``error`` (or
    ``timed-out``) verdict that says so."""
    notes = notes or []
    hidden = hidden or {}
    output_xml = out / "output.xml"
    problem = ""
    servers: list[ServerFacts] = []
    try:
        servers = read_facts(out / FACTS_FILE)
    except FactsError as error:
        problem = f"its {FACTS_FILE} {error}"
    if not output_xml.exists():
        problem = problem or "the grading run wrote no output.xml"
    elif not problem:
        try:
            suite = ExecutionResult(str(output_xml)).suite
        except Exception as error:  # any unreadable file gets this verdict
            problem = f"its output.xml cannot be read ({type(error).__name__})"
    if problem:
        status = TIMED_OUT if timed_out else ERROR
        reason = (
            f"stopped at the {time_limit:g}s time limit before any result was written"
            if timed_out
            else f"{problem}; see grading.log"
        )
        return Verdict(
            submission, status, "; ".join([reason, *notes]), seconds=seconds, notes=notes
        )
    results = list(suite.all_tests)

    def name_of(test: TestCase) -> str:  # below the top suite, which is the submission
        return test.full_name[len(suite.full_name) + 1 :] if suite.suites else test.name

    tests = []
    for test in results:
        status = {"PASS": "passed", "SKIP": "skipped"}.get(test.status, "failed")
        message = test.message if status != "passed" else ""
        fate = server_fate(test, servers, out, results, name_of) if status == "failed" else ""
        message = "\n".join(part for part in (fate, message) if part)
        tests.append(
            TestOutcome(
                name_of(test),
                status,
                scrub(message, hidden),
                scrub(plain_text(test.doc), hidden),
                points_of(list(test.tags)),
                list(test.tags),
            )
        )
    verdict = Verdict(submission, GRADED, tests=tests, seconds=seconds, notes=notes)
    not_started = [server for server in servers if server.not_started]
    failed_setups = [
        child
        for child in [suite, *_all_suites(suite)]
        if child.setup
        and child.setup.status == "FAIL"
        and not any(server.suite == child.full_name for server in not_started)
    ]
    if not_started and not any(server.started_at for server in servers):
        verdict.status = DID_NOT_START
        server = not_started[0]
        output = last_output(out / server.log) if server.log else ""
        verdict.reason = f"{server.not_started}: {output}" if output else server.not_started
    elif timed_out:
        verdict.status = TIMED_OUT
        verdict.reason = f"stopped at the {time_limit:g}s time limit"
    elif failed_setups:
        verdict.status = ERROR
        verdict.reason = f"suite setup failed: {_first_line(failed_setups[0].setup.message)}"
    else:
        failing = [test for test in tests if test.status == "failed"]
        if failing:
            verdict.reason = f"{failing[0].name}: {_first_line(failing[0].message)}"
    verdict.reason = scrub("; ".join(part for part in [verdict.reason, *notes] if part), hidden)
    return verdict


def status_counts(verdicts: list[Verdict]) -> str:
    """``9 graded, 2 did-not-start``: how many have each status, in the order of STATUSES."""
    counts = [(status, sum(v.status == status for v in verdicts)) for status in STATUSES]
    return ", ".join(f"{count} {status}" for status, count in counts if count)


def _all_suites(suite: TestSuite) -> list[TestSuite]:
    return [child for inner in suite.suites for child in [inner, *_all_suites(inner)]]


def write_summary(
    verdicts: list[Verdict],
    out: Path,
    reports: dict[str, Path],
    title: str,
    runs: list[dict],
) -> None:
    """``summary.csv``, ``summary.html`` and ``grading.json``.

    ``reports`` maps submissions to their report.html, relative to ``out``; ``runs`` says
    what isolation and limits were in force (one entry per run merged)."""
    verdicts = sorted(verdicts, key=lambda verdict: verdict.submission)
    with open(out / SUMMARY_CSV, "w", newline="") as file:
        writer = csv.DictWriter(file, CSV_COLUMNS)
        writer.writeheader()
        for verdict in verdicts:
            writer.writerow({key: csv_cell(value) for key, value in verdict.csv_row().items()})
    (out / SUMMARY_HTML).write_text(summary_html(verdicts, reports, title, runs))
    (out / SUMMARY_FILE).write_text(json.dumps({"runs": runs}, indent=2))


def read_runs(out: Path) -> list[dict]:
    """The isolation and limits recorded in an output folder (none if unreadable)."""
    try:
        runs = json.loads((out / SUMMARY_FILE).read_text())["runs"]
    except (OSError, ValueError, TypeError, KeyError):
        return []
    return [run for run in runs if isinstance(run, dict)] if isinstance(runs, list) else []


def combined_report(output_xmls: list[Path], out: Path, name: str) -> None:
    """One report.html and log.html for the whole class, each submission a suite.

    Give it only results that read back cleanly (not those of ``error`` verdicts)."""
    existing = [str(path) for path in output_xmls if path.exists()]
    if existing:
        with open(os.devnull, "w") as quiet:
            rebot(  # reports problems on stderr and returns a code; it does not raise
                *existing,
                name=name,
                outputdir=str(out),
                output=COMBINED[0],
                log=COMBINED[1],
                report=COMBINED[2],
                stdout=quiet,
            )


def _escape(text: object) -> str:
    return html.escape(visible(str(text)))


def runs_html(runs: list[dict]) -> str:
    """What isolation and limits were in force; a loud warning without a sandbox."""
    parts = []
    for run in runs:
        if run.get("warning"):
            parts.append(f'<p class="warning">WARNING: {_escape(run["warning"])}.</p>')
        limits = run.get("limits") if isinstance(run.get("limits"), dict) else {}
        items = "".join(f"<li>{_escape(k)}: {_escape(v)}</li>" for k, v in limits.items())
        sandbox = f", {_escape(run['sandbox'])}" if run.get("sandbox") else ""
        parts.append(
            f"<p>Isolation: {_escape(run.get('isolation', 'unknown'))}{sandbox}. "
            f"Limits:</p><ul>{items}</ul>"
        )
    return "\n".join(parts)


def summary_html(
    verdicts: list[Verdict], reports: dict[str, Path], title: str, runs: list[dict]
) -> str:
    escape = _escape
    rows = []
    for verdict in verdicts:
        row = verdict.csv_row()
        report = reports.get(verdict.submission)
        name = (
            f'<a href="{html.escape(report_link(report))}">{escape(verdict.submission)}</a>'
            if report
            else escape(verdict.submission)
        )
        rows.append(
            f'<tr class="{escape(verdict.status)}"><td>{name}</td>'
            f'<td data-sort="{row["score"]}"><span class="bar"><span style="width:{row["score"]}%">'
            f"</span></span> {row['score']:g}</td>"
            f"<td>{row['passed']}</td><td>{row['failed']}</td><td>{row['skipped']}</td>"
            f"<td>{escape(verdict.status)}</td><td>{escape(verdict.reason)}</td></tr>"
        )
    rates = []
    names: dict[str, list[str]] = {}
    for verdict in verdicts:
        for test in verdict.tests:
            names.setdefault(test.name, []).append(test.status)
    for name, statuses in names.items():
        ran = [status for status in statuses if status != "skipped"]
        rate = round(100 * ran.count("passed") / len(ran), 1) if ran else 0.0
        rates.append(
            f'<tr><td>{escape(name)}</td><td data-sort="{rate}"><span class="bar">'
            f'<span style="width:{rate}%"></span></span> {rate:g}%</td>'
            f"<td>{ran.count('passed')} / {len(ran)}</td></tr>"
        )
    mean = round(sum(v.score for v in verdicts) / len(verdicts), 1) if verdicts else 0.0
    return _PAGE.format(
        title=escape(title),
        runs=runs_html(runs),
        count=len(verdicts),
        statuses=escape(status_counts(verdicts)),
        mean=mean,
        rows="\n".join(rows),
        rates="\n".join(rates),
    )


_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>
body {{ font-family: sans-serif; margin: 2em; color: #222; }}
table {{ border-collapse: collapse; margin-bottom: 2em; }}
th, td {{ border-bottom: 1px solid #ddd; padding: .3em .8em; text-align: left;
          vertical-align: top; }}
th {{ cursor: pointer; background: #f4f4f4; user-select: none; }}
th::after {{ content: " \\2195"; color: #aaa; }}
.bar {{ display: inline-block; width: 8em; height: .8em; background: #eee; }}
.bar span {{ display: block; height: 100%; background: #3a8f3a; }}
tr.did-not-start td, tr.timed-out td, tr.error td, tr.interrupted td {{ background: #fff3f0; }}
.warning {{ background: #b00020; color: white; padding: .5em; font-weight: bold; }}
</style></head><body>
<h1>{title}</h1>
{runs}
<p>{count} submissions: {statuses}.</p>
<p>Mean score {mean}, over all {count} submissions: each counts with the score in its row,
so one that did not start or could not be graded counts as 0. A pass rate below counts
every submission that has a result for that test.
Click a column to sort it; click a submission for its report.</p>
<table class="sortable"><thead><tr><th>submission</th><th>score</th><th>passed</th>
<th>failed</th><th>skipped</th><th>status</th><th>reason</th></tr></thead>
<tbody>
{rows}
</tbody></table>
<h2>Pass rate per requirement</h2>
<table class="sortable"><thead><tr><th>test</th><th>pass rate</th><th>passed</th></tr>
</thead><tbody>
{rates}
</tbody></table>
<script>
document.querySelectorAll("table.sortable th").forEach((header, column) => {{
  header.addEventListener("click", () => {{
    const body = header.closest("table").tBodies[0];
    const key = row => row.cells[column].dataset.sort ?? row.cells[column].textContent;
    const up = header.dataset.order !== "up";
    header.dataset.order = up ? "up" : "down";
    const rows = [...body.rows].sort((a, b) => {{
      const [x, y] = [key(a), key(b)];
      const order = isNaN(x) || isNaN(y) ? x.localeCompare(y) : x - y;
      return up ? order : -order;
    }});
    rows.forEach(row => body.appendChild(row));
  }});
}});
</script>
</body></html>
"""
