"""Verdicts from Robot Framework results, and what graders and platforms read from them.

Per submission: ``verdict.json`` (everything below is derived from it) and
``results.json`` in the Gradescope autograder format. Per class: ``summary.csv``,
``summary.html`` and a combined ``report.html``/``log.html`` made by ``rebot``.
"""

from __future__ import annotations

import csv
import html
import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

from robot.api import ExecutionResult, TestSuiteBuilder
from robot.rebot import rebot

DID_NOT_START = "server did not start: "
CSV_COLUMNS = ["submission", "passed", "failed", "skipped", "score", "status", "reason"]
VERDICT_FILES = ("verdict.json", "results.json")  # ours, and Gradescope's


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
        data = json.loads((directory / "verdict.json").read_text())
        data["tests"] = [TestOutcome(**test) for test in data["tests"]]
        return cls(**data)


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
    """Turn one submission's output.xml (if any) into a verdict with a one-line reason."""
    notes = notes or []
    if not output_xml.exists():
        status = "timed-out" if timed_out else "error"
        reason = (
            f"stopped at the {time_limit:g}s time limit before any result was written"
            if timed_out
            else "the grading run wrote no output.xml; see grading.log"
        )
        return Verdict(submission, status, "; ".join([reason, *notes]), seconds=seconds)
    suite = ExecutionResult(str(output_xml)).suite
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
    """The Gradescope autograder ``results.json``: one point per test that ran.

    A skipped test was not demanded (a requirement beyond the seed), so it is left out
    rather than shown as failed and counted in the maximum."""
    tests = []
    for test in verdict.tests:
        if test.status == "skipped":
            continue
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


def write_summary(verdicts: list[Verdict], out: Path, reports: dict[str, str], title: str) -> None:
    """``summary.csv`` and ``summary.html``; ``reports`` maps submissions to report links."""
    verdicts = sorted(verdicts, key=lambda verdict: verdict.submission)
    with open(out / "summary.csv", "w", newline="") as file:
        writer = csv.DictWriter(file, CSV_COLUMNS)
        writer.writeheader()
        writer.writerows(verdict.csv_row() for verdict in verdicts)
    (out / "summary.html").write_text(summary_html(verdicts, reports, title))


def combined_report(output_xmls: list[Path], out: Path, name: str) -> None:
    """One report.html and log.html for the whole class, each submission a suite."""
    existing = [str(path) for path in output_xmls if path.exists()]
    if existing:
        with open(os.devnull, "w") as quiet:
            rebot(
                *existing,
                name=name,
                outputdir=str(out),
                output="output.xml",
                log="log.html",
                report="report.html",
                stdout=quiet,
            )


def summary_html(verdicts: list[Verdict], reports: dict[str, str], title: str) -> str:
    escape = html.escape
    rows = []
    for verdict in verdicts:
        row = verdict.csv_row()
        report = reports.get(verdict.submission)
        name = (
            f'<a href="{escape(report)}">{escape(verdict.submission)}</a>'
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
</style></head><body>
<h1>{title}</h1>
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
