"""Verdicts from Robot Framework results, and what graders and platforms read from them.

Per submission: ``verdict.json`` (everything below is derived from it) and
``results.json`` in the Gradescope autograder format. Per class: ``summary.csv``,
``summary.html``, ``grading.json`` (the isolation and limits in force) and a combined
``report.html``/``log.html`` made by ``rebot``.

Everything read back is untrusted: an ``output.xml`` or ``verdict.json`` that is missing,
cut short or malformed gives that submission the ``error`` status, never a crash. Everything
a student controls (folder names, output, failure messages) is escaped where it is shown:
control characters in the CSV, the HTML and the console, formulas in the CSV, and links are
relative and URL-quoted.
"""

from __future__ import annotations

import csv
import html
import json
import os
import re
import unicodedata
from dataclasses import asdict, dataclass, field
from pathlib import Path
from urllib.parse import quote

from robot.api import ExecutionResult, TestSuiteBuilder
from robot.rebot import rebot

DID_NOT_START = "server did not start: "
CSV_COLUMNS = ["submission", "passed", "failed", "skipped", "score", "status", "reason"]
VERDICT_FILES = ("verdict.json", "results.json")  # ours, and Gradescope's
FACTS_FILE = "grading.json"
STATUSES = ("graded", "did-not-start", "timed-out", "error", "interrupted")
TEST_STATUSES = ("passed", "failed", "skipped")
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


@dataclass
class TestOutcome:
    name: str
    status: str  # passed, failed or skipped
    message: str = ""
    requirement: str = ""  # the test's [Documentation]


@dataclass
class Verdict:
    submission: str
    status: str  # graded, did-not-start, timed-out, error or interrupted
    reason: str = ""
    tests: list[TestOutcome] = field(default_factory=list)
    seconds: float = 0.0

    def count(self, status: str) -> int:
        return sum(test.status == status for test in self.tests)

    @property
    def score(self) -> float:
        """Percentage of the tests that ran (passed or failed) that passed."""
        ran = self.count("passed") + self.count("failed")
        return round(100 * self.count("passed") / ran, 1) if ran else 0.0

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
        ours, gradescopes = (directory / name for name in VERDICT_FILES)
        ours.write_text(json.dumps(asdict(self), indent=2, ensure_ascii=False))
        gradescopes.write_text(json.dumps(gradescope(self), indent=2, ensure_ascii=False))

    @classmethod
    def load(cls, directory: Path) -> Verdict:
        """The saved verdict, or an ``error`` verdict saying why it cannot be read."""
        try:
            data = json.loads((directory / "verdict.json").read_text())
            tests = [TestOutcome(**_strings(test, 4)) for test in data["tests"]]
            verdict = cls(
                **_strings(data, 3, ("submission", "status", "reason")),
                tests=tests,
                seconds=float(data.get("seconds", 0)),
            )
            if verdict.status not in STATUSES or any(
                test.status not in TEST_STATUSES for test in tests
            ):
                raise ValueError("unknown status")
        except (OSError, ValueError, TypeError, KeyError, AttributeError) as error:
            reason = f"its verdict.json cannot be read ({type(error).__name__})"
            return cls(directory.name, "error", reason)
        return verdict


def _strings(data: dict, count: int, names: tuple[str, ...] | None = None) -> dict[str, str]:
    """The first ``count`` fields (or ``names``) of a JSON object, each a string."""
    names = names or ("name", "status", "message", "requirement")[:count]
    values = {name: data.get(name, "") for name in names}
    if not all(isinstance(value, str) for value in values.values()):
        raise TypeError("a field is not a string")
    return values


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else ""


def _last_line(text: str) -> str:
    return text.strip().splitlines()[-1] if text.strip() else ""


def suite_requirements(suite_file: Path) -> dict[str, str]:
    """Each test's requirement: its documentation, or for a table row its template's."""
    suite = TestSuiteBuilder().build(str(suite_file))
    keywords = {keyword.name: keyword.doc for keyword in suite.resource.keywords}
    return {
        test.name: " ".join((test.doc or keywords.get(test.template or "", "")).split())
        for test in suite.tests
    }


def read_verdict(
    submission: str,
    output_xml: Path,
    requirements: dict[str, str],
    *,
    timed_out: bool,
    time_limit: float,
    seconds: float,
    notes: list[str] | None = None,
) -> Verdict:
    """Turn one submission's output.xml (if any) into a verdict with a one-line reason.

    A missing, cut short or malformed output.xml gives an ``error`` (or ``timed-out``)
    verdict that says so."""
    notes = notes or []
    problem = ""
    if not output_xml.exists():
        problem = "the grading run wrote no output.xml"
    else:
        try:
            suite = ExecutionResult(str(output_xml)).suite
        except Exception as error:  # any unreadable file gets this verdict
            problem = f"its output.xml cannot be read ({type(error).__name__})"
    if problem:
        status = "timed-out" if timed_out else "error"
        reason = (
            f"stopped at the {time_limit:g}s time limit before any result was written"
            if timed_out
            else f"{problem}; see grading.log"
        )
        return Verdict(submission, status, "; ".join([reason, *notes]), seconds=seconds)
    tests = [
        TestOutcome(
            test.name,
            {"PASS": "passed", "SKIP": "skipped"}.get(test.status, "failed"),
            test.message if test.status != "PASS" else "",
            requirements.get(test.name, ""),
        )
        for test in suite.all_tests
    ]
    verdict = Verdict(submission, "graded", tests=tests, seconds=seconds)
    setup_message = suite.setup.message if suite.setup else ""
    if suite.setup and suite.setup.status == "FAIL" and setup_message.startswith(DID_NOT_START):
        verdict.status = "did-not-start"
        detail = setup_message[len(DID_NOT_START) :]
        first, last = _first_line(detail), _last_line(detail)
        verdict.reason = first if last in (first, "It printed nothing.") else f"{first}: {last}"
    elif timed_out:
        verdict.status = "timed-out"
        verdict.reason = f"stopped at the {time_limit:g}s time limit"
    elif suite.setup and suite.setup.status == "FAIL":
        verdict.status = "error"
        verdict.reason = f"suite setup failed: {_first_line(setup_message)}"
    else:
        failing = [test for test in tests if test.status == "failed"]
        if failing:
            verdict.reason = f"{failing[0].name}: {_first_line(failing[0].message)}"
    verdict.reason = "; ".join(part for part in [verdict.reason, *notes] if part)
    return verdict


def gradescope(verdict: Verdict) -> dict:
    """The Gradescope autograder ``results.json``: one point per test."""
    tests = []
    for test in verdict.tests:
        output = test.requirement
        if test.message:
            output = f"{output}\n\n{test.message}" if output else test.message
        tests.append(
            {
                "name": test.name,
                "status": "passed" if test.status == "passed" else "failed",
                "score": 1.0 if test.status == "passed" else 0.0,
                "max_score": 1.0,
                "output": output,
            }
        )
    result = {"score": float(verdict.count("passed")), "tests": tests}
    if verdict.status != "graded" or not tests:
        result["output"] = f"{verdict.status}: {verdict.reason}"
    return result


def write_summary(
    verdicts: list[Verdict],
    out: Path,
    reports: dict[str, Path],
    title: str,
    facts: list[dict],
) -> None:
    """``summary.csv``, ``summary.html`` and ``grading.json``.

    ``reports`` maps submissions to their report.html, relative to ``out``; ``facts`` says
    what isolation and limits were in force (one entry per run merged)."""
    verdicts = sorted(verdicts, key=lambda verdict: verdict.submission)
    with open(out / "summary.csv", "w", newline="") as file:
        writer = csv.DictWriter(file, CSV_COLUMNS)
        writer.writeheader()
        for verdict in verdicts:
            writer.writerow({key: csv_cell(value) for key, value in verdict.csv_row().items()})
    (out / "summary.html").write_text(summary_html(verdicts, reports, title, facts))
    (out / FACTS_FILE).write_text(json.dumps({"runs": facts}, indent=2))


def read_facts(out: Path) -> list[dict]:
    """The isolation and limits recorded in an output folder (none if unreadable)."""
    try:
        runs = json.loads((out / FACTS_FILE).read_text())["runs"]
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
                output="output.xml",
                log="log.html",
                report="report.html",
                stdout=quiet,
            )


def _escape(text: object) -> str:
    return html.escape(visible(str(text)))


def facts_html(facts: list[dict]) -> str:
    """What isolation and limits were in force; a loud warning without a sandbox."""
    parts = []
    for run in facts:
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
    verdicts: list[Verdict], reports: dict[str, Path], title: str, facts: list[dict]
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
    graded = [verdict for verdict in verdicts if verdict.status == "graded"]
    mean = round(sum(v.score for v in graded) / len(graded), 1) if graded else 0.0
    return _PAGE.format(
        title=escape(title),
        facts=facts_html(facts),
        count=len(verdicts),
        graded=len(graded),
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
{facts}
<p>{count} submissions, {graded} graded, mean score of the graded ones {mean}.
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
